// The tests kill and restart the broker and the database that they share: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
