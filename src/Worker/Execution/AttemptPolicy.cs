using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;

namespace TaskHub.Worker.Execution;

/// <summary>
/// The policy one task runs under. The most specific word wins: the message's own override,
/// then configuration for the task name (<c>AsyncTask:Tasks:NAME</c>), then the handler's
/// registration, then the <c>AsyncTask</c> defaults.
/// </summary>
public sealed record AttemptPolicy(int Attempts, TimeSpan RetryDelay, TimeSpan Timeout, bool ExponentialBackoff = false)
{
    static readonly TimeSpan LongestDelay = TimeSpan.FromMilliseconds(AsyncTaskOptionsValidator.MaxAttemptAfterMs);

    public static AttemptPolicy Resolve(TaskPolicy? message, TaskNamePolicy? configured, TaskNamePolicy? registered, AsyncTaskOptions defaults) => new(
        message?.Attempts ?? configured?.Attempts ?? registered?.Attempts ?? defaults.Attempts,
        TimeSpan.FromMilliseconds(message?.RetryDelayMs ?? configured?.AttemptAfterMs ?? registered?.AttemptAfterMs ?? defaults.AttemptAfterMs),
        message?.TimeoutMs is { } ms
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.FromSeconds(configured?.TimeoutSeconds ?? registered?.TimeoutSeconds ?? defaults.TimeoutSeconds),
        message?.ExponentialBackoff ?? configured?.ExponentialBackoff ?? registered?.ExponentialBackoff ?? false);

    /// <summary>The longest wait after failed attempt <paramref name="attempt"/>: the delay, doubled per earlier failure with exponential backoff.</summary>
    public TimeSpan MaxDelayAfter(int attempt) => ExponentialBackoff
        ? TimeSpan.FromMilliseconds(Math.Min(RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1), LongestDelay.TotalMilliseconds))
        : RetryDelay;

    /// <summary>
    /// The wait after failed attempt <paramref name="attempt"/>. Exponential backoff takes a random
    /// point in the upper half of its delay ("equal jitter"), so retries of many tasks that failed
    /// together spread out instead of arriving at once.
    /// </summary>
    public TimeSpan DelayAfter(int attempt, Random random)
    {
        var max = MaxDelayAfter(attempt);
        return ExponentialBackoff ? max / 2 + max / 2 * random.NextDouble() : max;
    }

    /// <summary>When every attempt must be over, with room for the grace given to a handler that ignores its token, and for the report's transit.</summary>
    public DateTimeOffset DeadlineFrom(DateTimeOffset start, int fromAttempt, TimeSpan grace, TimeSpan slack)
    {
        var left = Attempts - fromAttempt + 1;
        var waits = TimeSpan.Zero;
        for (var attempt = fromAttempt; attempt < Attempts; attempt++)
            waits += MaxDelayAfter(attempt);
        return start + left * (Timeout + grace) + waits + slack;
    }
}
