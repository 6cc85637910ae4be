using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Retries;

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

    /// <summary>
    /// The waits between attempts in TaskHub's one retry vocabulary: the same delay each time, or with
    /// exponential backoff doubled per failure up to the longest allowed delay, at a random point in its
    /// upper half ("equal jitter"), so retries of many tasks that failed together spread out.
    /// </summary>
    public RetryPolicy Retry => ExponentialBackoff
        ? new RetryPolicy(Attempts, RetryDelay, Factor: 2, MaxDelay: LongestDelay, Jitter: 0.5)
        : new RetryPolicy(Attempts, RetryDelay, Factor: 1);

    /// <summary>The longest wait after failed attempt <paramref name="attempt"/>.</summary>
    public TimeSpan MaxDelayAfter(int attempt) => Retry.MaxDelayAfter(attempt);

    /// <summary>The wait after failed attempt <paramref name="attempt"/>.</summary>
    public TimeSpan DelayAfter(int attempt, Random random) => Retry.DelayAfter(attempt, random);

    /// <summary>When every attempt must be over, with room for the grace given to a handler that ignores its token, and for the report's transit.</summary>
    public DateTimeOffset DeadlineFrom(DateTimeOffset start, int fromAttempt, TimeSpan grace, TimeSpan slack)
    {
        // An operator's retry runs one attempt past the policy's last.
        var left = Math.Max(1, Attempts - fromAttempt + 1);
        return start + left * (Timeout + grace) + Retry.LongestWaitsFrom(fromAttempt) + slack;
    }
}
