using System.ComponentModel.DataAnnotations;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>The <c>CallbackTimers</c> section: how <c>/callback/new</c> timers are found and held (see <see cref="CallbackTimers"/>).</summary>
public sealed class CallbackTimerOptions
{
    public const string Section = "CallbackTimers";

    /// <summary>How often a Scheduler looks for fires coming due that no Scheduler holds (new ones arrive by message at once).</summary>
    [Range(50, 60_000)]
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>How far ahead a Scheduler takes fires into memory; at least two poll intervals, so a poll finds every fire before it is due.</summary>
    [Range(100, 600_000)]
    public int LookaheadMs { get; set; } = 3000;

    /// <summary>
    /// How long past its due time a fire stays with the Scheduler that took it. A Scheduler that
    /// died holding it delays the fire this long; then another one takes it.
    /// </summary>
    [Range(500, 3_600_000)]
    public int ClaimLeaseMs { get; set; } = 10_000;

    /// <summary>Most fires taken per query.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1000;
}
