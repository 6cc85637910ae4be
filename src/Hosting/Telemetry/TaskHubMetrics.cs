using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TaskHub.Hosting.Telemetry;

/// <summary>
/// TaskHub's own meter, <c>TaskHub</c>. Names follow the OpenTelemetry semantic conventions' style; labels
/// are bounded (task name, queue, outcome), never ids. Each process records what it sees: the Scheduler
/// a task's life and timers, the Worker its runs, the Api the pull queue.
/// </summary>
public sealed class TaskHubMetrics : IDisposable
{
    public const string Success = "success";
    public const string Failure = "failure";
    public const string Cancelled = "cancelled";

    /// <summary>Buckets for durations in seconds, from a timer's few milliseconds to a long task's minutes (the default buckets suit milliseconds).</summary>
    static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    };

    readonly Meter _meter;
    readonly Counter<long> _submitted;
    readonly Counter<long> _finished;
    readonly Histogram<double> _duration;
    readonly Histogram<double> _queueWait;
    readonly Histogram<double> _timerLateness;
    readonly Counter<long> _callbackDeliveries;
    readonly Counter<long> _pullQueueOperations;
    readonly Counter<long> _leaseExpiries;
    readonly Histogram<double> _longPollWait;
    readonly Counter<long> _throttled;

    public TaskHubMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(TaskHubTelemetry.Name);
        _submitted = _meter.CreateCounter<long>("taskhub.tasks.submitted", "{task}", "Tasks the Scheduler recorded");
        _finished = _meter.CreateCounter<long>("taskhub.tasks.finished", "{task}", "Tasks that ended, by outcome");
        _duration = _meter.CreateHistogram<double>("taskhub.task.duration", "s", "From a task's start to its end", null, Seconds);
        _queueWait = _meter.CreateHistogram<double>("taskhub.task.queue_wait", "s", "From a task's submission to its start", null, Seconds);
        _timerLateness = _meter.CreateHistogram<double>("taskhub.timer.lateness", "s", "How late a timer fired (fired minus due)", null, Seconds);
        _callbackDeliveries = _meter.CreateCounter<long>("taskhub.callback.deliveries", "{attempt}", "Callback delivery attempts, by outcome");
        _pullQueueOperations = _meter.CreateCounter<long>("taskhub.pull_queue.operations", "{operation}", "Pull-queue puts, acquires, replies");
        _leaseExpiries = _meter.CreateCounter<long>("taskhub.pull_queue.lease_expiries", "{task}", "Acquired pull-queue tasks whose lease ran out");
        _longPollWait = _meter.CreateHistogram<double>("taskhub.pull_queue.long_poll_wait", "s", "How long a peek or call waited", null, Seconds);
        _throttled = _meter.CreateCounter<long>("taskhub.tasks.throttled", "{start}", "Starts a rate limit held back, by the kind of limit that set the wait");
    }

    public void Submitted(string name, string queue) => _submitted.Add(1, Name(name), Queue(queue));

    /// <summary>A task ended: counted by outcome, with its run time and (when it started) its wait in the queue.</summary>
    public void Finished(string name, string queue, string outcome, DateTimeOffset submittedAt, DateTimeOffset? startedAt, DateTimeOffset finishedAt)
    {
        var tags = new TagList { Name(name), Queue(queue), { "taskhub.outcome", outcome } };
        _finished.Add(1, tags);
        if (startedAt is { } started)
        {
            _duration.Record(Math.Max(0, (finishedAt - started).TotalSeconds), tags);
            _queueWait.Record(Math.Max(0, (started - submittedAt).TotalSeconds), Name(name), Queue(queue));
        }
    }

    /// <summary><paramref name="kind"/>: callback (setTimeout, setInterval, debounce) or cron.</summary>
    public void TimerFired(string kind, TimeSpan lateness) => _timerLateness.Record(lateness.TotalSeconds, new KeyValuePair<string, object?>("taskhub.timer.kind", kind));

    public void CallbackDelivered(string outcome) => _callbackDeliveries.Add(1, new KeyValuePair<string, object?>("taskhub.outcome", outcome));

    /// <summary><paramref name="operation"/>: put, acquire, reply, call.</summary>
    public void PullQueue(string operation, long count = 1) =>
        _pullQueueOperations.Add(count, new KeyValuePair<string, object?>("taskhub.operation", operation));

    public void LeasesExpired(long count) => _leaseExpiries.Add(count);

    /// <summary>A start held back; <paramref name="limit"/>: task, group or host.</summary>
    public void Throttled(string name, string limit) => _throttled.Add(1, Name(name), new KeyValuePair<string, object?>("taskhub.limit", limit));

    public void LongPollWaited(string operation, TimeSpan waited) =>
        _longPollWait.Record(waited.TotalSeconds, new KeyValuePair<string, object?>("taskhub.operation", operation));

    /// <summary>An observable gauge of the meter, read when a scrape or export asks.</summary>
    public void Gauge(string name, string unit, string description, Func<long> observe) => _meter.CreateObservableGauge(name, observe, unit, description);

    public void Dispose() => _meter.Dispose();

    static KeyValuePair<string, object?> Name(string name) => new("taskhub.task.name", name);

    static KeyValuePair<string, object?> Queue(string queue) => new("taskhub.queue", queue);
}
