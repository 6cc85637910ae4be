using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Outbox;

namespace TaskHub.Worker.Execution;

/// <summary>
/// Where a failed attempt waits for the next one. A short wait is held in memory; a longer one than
/// <see cref="WorkerOptions.HoldRetryUpTo"/> is stored: the next attempt's message goes into the outbox
/// leased until it is due, a Scheduler's relay sends it then (marked resent, so the fence checks the
/// task first), and this message is acknowledged. No slot and no message is held while it waits, and a
/// restart of anything loses nothing.
/// </summary>
public sealed class AttemptRetries(OutboxTable outbox, IOptions<WorkerOptions> options, TimeProvider time)
{
    /// <summary>Waits <paramref name="wait"/> in memory and returns false, or stores <paramref name="next"/> to be sent after it and returns true.</summary>
    public async Task<bool> StoreOrWaitAsync<T>(ConsumeContext<T> context, T next, TimeSpan wait) where T : class
    {
        if (wait <= options.Value.HoldRetryUpTo)
        {
            await Task.Delay(wait, time, context.CancellationToken);
            return false;
        }
        var queue = context.ReceiveContext.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Last();
        await outbox.InsertDueAsync(OutboxMessage.Send(TaskHubBus.QueueAddress(queue), next), time.GetUtcNow() + wait, context.CancellationToken);
        return true;
    }
}
