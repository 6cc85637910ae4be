using System.ComponentModel.DataAnnotations;
using TaskHub.Contracts.Retries;

namespace TaskHub.Scheduler.Cron;

/// <summary>The <c>Cron</c> section: how scheduled tasks (seed 003) are evaluated and their callbacks delivered.</summary>
public sealed class CronOptions : IValidatableObject
{
    public const string Section = "Cron";

    /// <summary>Time zone the cron fields are read in (IANA or Windows id).</summary>
    [Required]
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Attempts per fire's callback: a network error, a timeout, 408, 429 or 5xx is tried again.</summary>
    [Range(1, 20)]
    public int DeliveryAttempts { get; set; } = 3;

    /// <summary>Wait before the second attempt; each further wait doubles.</summary>
    [Range(0, 600_000)]
    public int RetryDelayMs { get; set; } = 1000;

    /// <summary>Attempts and their waits, in the one retry vocabulary. The waits are short and held by the delivery (3 s in all by default).</summary>
    public RetryPolicy Retry => new(DeliveryAttempts, TimeSpan.FromMilliseconds(RetryDelayMs), Factor: 2);

    /// <summary>Seconds one callback request may take (the outbound client's own timeout still caps it).</summary>
    [Range(1, 3600)]
    public int CallbackTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// With <c>isMultipleEntry: false</c>, a fire is skipped while the previous one is unreported
    /// and younger than this; an older unreported fire no longer blocks the task.
    /// </summary>
    [Range(1, 7 * 24 * 3600)]
    public int EntryTimeoutSeconds { get; set; } = 600;

    /// <summary>Lifetime (exp - iat) of the JWT each callback carries.</summary>
    [Range(10, 24 * 3600)]
    public int TokenLifetimeSeconds { get; set; } = 600;

    /// <summary>Days a fire stays in a task's history; the Scheduler's sweep deletes older ones.</summary>
    [Range(1, 3650)]
    public int HistoryDays { get; set; } = 30;

    /// <summary>Fires delivered at once by one Scheduler.</summary>
    [Range(1, 1000)]
    public int DeliveryConcurrency { get; set; } = 32;

    public TimeZoneInfo Zone => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _))
            yield return new ValidationResult($"{Section}:TimeZone '{TimeZone}' is not a known time zone id.", [nameof(TimeZone)]);
    }
}
