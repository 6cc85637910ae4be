using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;

namespace TaskHub.Worker.Execution;

/// <summary>
/// The policy one task runs under. The most specific word wins: the message's own override,
/// then configuration for the task name (<c>AsyncTask:Tasks:NAME</c>), then the handler's
/// registration, then the <c>AsyncTask</c> defaults.
/// </summary>
public sealed record AttemptPolicy(int Attempts, TimeSpan RetryDelay, TimeSpan Timeout)
{
    public static AttemptPolicy Resolve(TaskPolicy? message, TaskNamePolicy? configured, TaskNamePolicy? registered, AsyncTaskOptions defaults) => new(
        message?.Attempts ?? configured?.Attempts ?? registered?.Attempts ?? defaults.Attempts,
        TimeSpan.FromMilliseconds(message?.RetryDelayMs ?? configured?.AttemptAfterMs ?? registered?.AttemptAfterMs ?? defaults.AttemptAfterMs),
        message?.TimeoutMs is { } ms
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.FromSeconds(configured?.TimeoutSeconds ?? registered?.TimeoutSeconds ?? defaults.TimeoutSeconds));

    /// <summary>When every attempt must be over, with room for the grace given to a handler that ignores its token, and for the report's transit.</summary>
    public DateTimeOffset DeadlineFrom(DateTimeOffset start, int fromAttempt, TimeSpan grace, TimeSpan slack)
    {
        var left = Attempts - fromAttempt + 1;
        return start + left * (Timeout + grace) + (left - 1) * RetryDelay + slack;
    }
}
