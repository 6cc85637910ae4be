namespace TaskHub.Worker.Handlers;

/// <summary>
/// Thrown by a handler to run the task again after <see cref="Delay"/> (machinery's <c>NewErrRetryTaskLater</c>): the
/// attempt ends, the next one is stored due then (no Worker slot and no message is held meanwhile), and it uses none of
/// the policy's attempts, which count failures only. The task shows the message as its error until it runs again.
/// </summary>
public sealed class RetryLaterException(TimeSpan delay, string message) : Exception(message)
{
    public TimeSpan Delay { get; } = delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
}
