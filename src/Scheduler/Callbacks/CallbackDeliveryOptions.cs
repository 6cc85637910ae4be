using System.ComponentModel.DataAnnotations;
using TaskHub.Contracts.Retries;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>The <c>CallbackDelivery</c> section: how hard TaskHub tries to reach a callback URL.</summary>
public sealed class CallbackDeliveryOptions
{
    public const string Section = "CallbackDelivery";

    [Range(1, 20)]
    public int Attempts { get; set; } = 5;

    /// <summary>Delay before the second attempt; it doubles for each later one, up to <see cref="MaxRetryDelayMs"/>.</summary>
    [Range(0, 60_000)]
    public int FirstRetryDelayMs { get; set; } = 500;

    [Range(0, 300_000)]
    public int MaxRetryDelayMs { get; set; } = 10_000;

    /// <summary>How often a Scheduler looks for task callbacks whose next attempt came due.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "CallbackDelivery:PollInterval must be between 50 ms and 1 min (was {0})")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts, and the waits between them (doubling from the first, up to the longest).</summary>
    public RetryPolicy Retry => new(Attempts, TimeSpan.FromMilliseconds(FirstRetryDelayMs), Factor: 2, TimeSpan.FromMilliseconds(MaxRetryDelayMs));

    /// <summary>Longer than all attempts of one delivery with their backoff can take: how long a timed callback's fire is claimed.</summary>
    public TimeSpan LongestDelivery => TimeSpan.FromMilliseconds(Attempts * (60_000 + MaxRetryDelayMs));
}
