// The classes share two cores with their broker and database; one at a time keeps timings honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
