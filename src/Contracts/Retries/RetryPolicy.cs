namespace TaskHub.Contracts.Retries;

/// <summary>
/// How TaskHub retries anything it retries (task attempts, callback deliveries, timed-callback and cron
/// deliveries), as one record: <paramref name="Attempts"/> in all (1: no retry), the wait after the first
/// failure, multiplied by <paramref name="Factor"/> after each later one up to <paramref name="MaxDelay"/>,
/// and a <paramref name="Jitter"/> share (0–1) of each wait drawn at random so that retries of many
/// things that failed together spread out.
/// </summary>
public sealed record RetryPolicy(int Attempts, TimeSpan FirstDelay, double Factor = 2, TimeSpan? MaxDelay = null, double Jitter = 0)
{
    /// <summary>The longest wait after failed attempt <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan MaxDelayAfter(int attempt)
    {
        var ms = FirstDelay.TotalMilliseconds * Math.Pow(Factor, Math.Max(0, attempt - 1));
        return MaxDelay is { } cap && ms > cap.TotalMilliseconds ? cap : TimeSpan.FromMilliseconds(Math.Min(ms, TimeSpan.MaxValue.TotalMilliseconds / 2));
    }

    /// <summary>The wait after failed attempt <paramref name="attempt"/>: its longest, less a random share of up to <see cref="Jitter"/>.</summary>
    public TimeSpan DelayAfter(int attempt, Random random) => MaxDelayAfter(attempt) * (1 - Jitter * random.NextDouble());

    /// <summary>Whether another attempt follows failed attempt <paramref name="attempt"/>.</summary>
    public bool RetriesAfter(int attempt) => attempt < Attempts;

    /// <summary>The longest all waits between the attempts from <paramref name="fromAttempt"/> on can take.</summary>
    public TimeSpan LongestWaitsFrom(int fromAttempt)
    {
        var waits = TimeSpan.Zero;
        for (var attempt = fromAttempt; attempt < Attempts; attempt++)
            waits += MaxDelayAfter(attempt);
        return waits;
    }
}
