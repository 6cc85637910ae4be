using MassTransit;

namespace TaskHub.Hosting.Health;

/// <summary>
/// What the broker took and what a deadline cut off, by destination: the evidence <see cref="StuckSendWatchdog"/>
/// judges. After a broker restart a MassTransit send path can stay stuck while the connection is back and the
/// process's receive side works (MassTransit #5823, rabbitmq-dotnet-client #1930): every send to one queue or
/// exchange waits until its deadline, others go. So a success clears only its own destination's timeouts; a
/// timeout the caller cannot attribute (an Api request's) is cleared by any success but the watchdog's probe.
/// </summary>
public sealed class BrokerSends(TimeProvider time) : ISendObserver, IPublishObserver
{
    /// <summary>A destination is stuck after this many timeouts in a row, none followed by a success.</summary>
    public const int StuckAfterTimeouts = 3;

    const string Unattributed = "request ";
    readonly Lock gate = new();
    // Per destination, its latest timeouts since its last success (at most StuckAfterTimeouts are needed).
    readonly Dictionary<string, Queue<DateTimeOffset>> timeouts = [];
    // Read without the lock by every send's success: nothing to clear is the usual case.
    volatile int destinations;

    public void TimedOut(Uri destination) => Record(Key(destination));

    public void TimedOut(Type published) => Record(Key(published));

    /// <summary>A send cut off somewhere in <paramref name="request"/> (e.g. <c>POST /task/new</c>), destination unknown.</summary>
    public void TimedOut(string request) => Record(Unattributed + request);

    /// <summary>A destination whose last <see cref="StuckAfterTimeouts"/> sends all timed out at or after <paramref name="since"/>; else null.</summary>
    public string? StuckSince(DateTimeOffset since)
    {
        lock (gate)
            return timeouts.FirstOrDefault(t => t.Value.Count(at => at >= since) >= StuckAfterTimeouts).Key;
    }

    void Record(string key)
    {
        lock (gate)
        {
            if (!timeouts.TryGetValue(key, out var times))
                timeouts[key] = times = new Queue<DateTimeOffset>();
            times.Enqueue(time.GetUtcNow());
            while (times.Count > StuckAfterTimeouts)
                times.Dequeue();
            destinations = timeouts.Count;
        }
    }

    void Succeeded(string key)
    {
        if (destinations == 0)
            return;
        lock (gate)
        {
            timeouts.Remove(key);
            // The watchdog's probe says nothing of the paths a request took.
            if (key == ProbeKey)
                return;
            foreach (var unattributed in timeouts.Keys.Where(k => k.StartsWith(Unattributed, StringComparison.Ordinal)).ToList())
                timeouts.Remove(unattributed);
            destinations = timeouts.Count;
        }
    }

    /// <summary>A queue or exchange by its name, whatever the address's form (<c>queue:x</c>, <c>rabbitmq://host/vhost/x?…</c>).</summary>
    static string Key(Uri destination) =>
        "send " + (destination.IsAbsoluteUri ? destination.AbsolutePath : destination.OriginalString).Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();

    static string Key(Type published) => "publish " + published.FullName;

    static readonly string ProbeKey = Key(typeof(BrokerProbe));

    Task ISendObserver.PreSend<T>(SendContext<T> context) => Task.CompletedTask;

    Task ISendObserver.PostSend<T>(SendContext<T> context)
    {
        // A publish is a send to its exchange too: the probe's counts once, as a publish.
        if (context.DestinationAddress is { } address && typeof(T) != typeof(BrokerProbe))
            Succeeded(Key(address));
        return Task.CompletedTask;
    }

    Task ISendObserver.SendFault<T>(SendContext<T> context, Exception exception) => Task.CompletedTask;

    Task IPublishObserver.PrePublish<T>(PublishContext<T> context) => Task.CompletedTask;

    Task IPublishObserver.PostPublish<T>(PublishContext<T> context)
    {
        Succeeded(Key(typeof(T)));
        return Task.CompletedTask;
    }

    Task IPublishObserver.PublishFault<T>(PublishContext<T> context, Exception exception) => Task.CompletedTask;
}
