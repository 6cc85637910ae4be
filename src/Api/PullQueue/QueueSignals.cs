namespace TaskHub.Api.PullQueue;

/// <summary>
/// This process's waiting peeks and calls, keyed by what they wait for: <see cref="PutKey"/> (a task
/// put into a queue) or <see cref="ReplyKey"/> (a task replied). <see cref="QueueNotifications"/> wakes
/// them after this instance's writes, <see cref="PullQueueListener"/> after the other instances'. A wake-up only says "look
/// again": waiters always re-read the database, so a wake-up too many costs a query and one too few
/// costs a fallback interval.
/// </summary>
public sealed class QueueSignals
{
    readonly Lock _lock = new();
    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public static string PutKey(string queue) => $"P\n{queue}";

    public static string ReplyKey(string queue, string id) => $"R\n{queue}\n{id}";

    public Subscription Subscribe(string key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
                _entries[key] = entry = new Entry();
            entry.Subscribers++;
            return new Subscription(this, key, entry);
        }
    }

    public void Wake(string key)
    {
        TaskCompletionSource? woken = null;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var entry))
                woken = entry.Renew();
        }
        woken?.TrySetResult();
    }

    /// <summary>After notifications may have been missed (the listener (re)connecting): everyone looks again.</summary>
    public void WakeAll()
    {
        List<TaskCompletionSource> woken;
        lock (_lock)
            woken = _entries.Values.Select(e => e.Renew()).ToList();
        foreach (var source in woken)
            source.TrySetResult();
    }

    void Unsubscribe(string key, Entry entry)
    {
        lock (_lock)
        {
            if (--entry.Subscribers == 0)
                _entries.Remove(key);
        }
    }

    internal sealed class Entry
    {
        public int Subscribers;
        public TaskCompletionSource Next { get; private set; } = NewSource();

        /// <summary>Starts a new round and hands back the finished one's source, to be completed outside the lock.</summary>
        public TaskCompletionSource Renew()
        {
            var current = Next;
            Next = NewSource();
            return current;
        }

        static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One waiter's interest in a key, until disposed.</summary>
    public sealed class Subscription : IDisposable
    {
        readonly QueueSignals _signals;
        readonly string _key;
        readonly Entry _entry;
        bool _disposed;

        internal Subscription(QueueSignals signals, string key, Entry entry)
        {
            _signals = signals;
            _key = key;
            _entry = entry;
        }

        /// <summary>Completes at the next wake-up of the key. Take it before reading the database, then wait on it.</summary>
        public Task Next
        {
            get
            {
                lock (_signals._lock)
                    return _entry.Next.Task;
            }
        }

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            _signals.Unsubscribe(_key, _entry);
        }
    }
}
