using System.Globalization;

namespace TaskHub.Contracts.Options;

/// <summary>
/// How many starts a key allows per unit of time, written <c>20/s</c>, <c>600/min</c> or <c>100/h</c>. Starts are
/// spaced evenly, one every <see cref="Interval"/> (as Celery's <c>rate_limit</c>): <c>20/s</c> is one each 50 ms,
/// with no burst.
/// </summary>
public readonly record struct RateLimit(int Count, TimeSpan Per)
{
    public TimeSpan Interval => Per / Count;

    public override string ToString() => $"{Count}/{Unit(Per)}";

    /// <summary>What <see cref="TryParse"/> takes, for error messages.</summary>
    public const string Forms = "a count per s, min or h, such as 20/s or 600/min";

    public static bool TryParse(string? text, out RateLimit limit)
    {
        limit = default;
        var parts = text?.Trim().Split('/') ?? [];
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > 1_000_000)
            return false;
        TimeSpan? per = parts[1].Trim() switch
        {
            "s" or "sec" or "second" => TimeSpan.FromSeconds(1),
            "m" or "min" or "minute" => TimeSpan.FromMinutes(1),
            "h" or "hour" => TimeSpan.FromHours(1),
            _ => null,
        };
        if (per is null)
            return false;
        limit = new RateLimit(count, per.Value);
        return true;
    }

    static string Unit(TimeSpan per) => per == TimeSpan.FromSeconds(1) ? "s" : per == TimeSpan.FromMinutes(1) ? "min" : "h";
}
