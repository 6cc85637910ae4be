using System.ComponentModel.DataAnnotations;

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

    /// <summary>Longer than all attempts of one delivery with their backoff can take: how long a delivery is claimed.</summary>
    public TimeSpan LongestDelivery => TimeSpan.FromMilliseconds(Attempts * (60_000 + MaxRetryDelayMs));
}
