using System.ComponentModel.DataAnnotations;

namespace TaskHub.Worker;

/// <summary>The <c>Worker</c> section.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>How long a handler that ignores its cancelled token is waited for before the attempt is abandoned as timed out.</summary>
    [Range(0, 60_000)]
    public int TimeoutGraceMs { get; set; } = 1000;

    /// <summary>
    /// An attempt still running after this long is announced with <c>TaskStarted</c> (state RUNNING, and its
    /// deadline for the sweeper); one that is over sooner is reported once, by its outcome. 0 announces every attempt.
    /// </summary>
    [Range(0, 60_000)]
    public int StartedReportDelayMs { get; set; } = 100;

    /// <summary>Added to the deadline a Worker announces for a task, for the time its final report takes to reach the Scheduler.</summary>
    [Range(0, 600_000)]
    public int DeadlineSlackMs { get; set; } = 5000;

    /// <summary>
    /// The longest wait between attempts, or before a start a rate limit reserved, that a Worker holds in memory
    /// (with the message and its slot). A longer one is stored as a due time (the outbox), the message acknowledged,
    /// and the attempt sent when it is due, to whichever Worker is free then.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Worker:HoldRetryUpTo must be between 0 and 10 min (was {0})")]
    public TimeSpan HoldRetryUpTo { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>HTTP tasks (<c>/task/new</c>) this Worker calls at once; 0 leaves the HTTP queue to other Workers.</summary>
    [Range(0, 10_000)]
    public int HttpConcurrency { get; set; } = 64;

    /// <summary>How often the Worker writes its row in <c>workers</c>; one silent for three intervals is shown as silent.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Worker:HeartbeatInterval must be between 1 s and 5 min (was {0})")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a stopping Worker lets its running attempts finish. Then their tokens fire, and their work messages go back
    /// to the broker, for another Worker; the host waits 30 s in all.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:25", ErrorMessage = "Worker:StopGrace must be between 0 and 25 s (was {0})")]
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);
}
