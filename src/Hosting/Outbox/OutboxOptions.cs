using System.ComponentModel.DataAnnotations;

namespace TaskHub.Hosting.Outbox;

/// <summary>The <c>Outbox</c> section: how the relay sends what state changes left behind.</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>
    /// How long a Scheduler owns the messages it just wrote, or took up again, before any relay may send them:
    /// longer than a confirmed send takes, short enough that a dead Scheduler's messages go soon.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Outbox:Lease must be between 1 s and 10 min (was {0})")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each relay looks for messages whose lease lapsed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Outbox:PollInterval must be between 50 ms and 1 min (was {0})")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most messages one poll takes up.</summary>
    [Range(1, 10_000, ErrorMessage = "Outbox:BatchSize must be between 1 and 10000 (was {0})")]
    public int BatchSize { get; set; } = 500;
}
