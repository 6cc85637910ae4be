using System.Security.Cryptography;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
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
    /// <summary>
    /// After failed attempt <paramref name="attempt"/> of <paramref name="taskId"/>, with another to come after
    /// <paramref name="wait"/>: reports the failure (with when the next attempt is due, if its wait is stored),
    /// then waits in memory, or stores <paramref name="next"/> to be sent then (always, with <paramref name="store"/>).
    /// True when stored: the consumer returns and its message is acknowledged.
    /// </summary>
    public async Task<bool> RetryAsync<T>(ConsumeContext<T> context, Guid taskId, int attempt, string error, TimeSpan wait, T next,
        bool store = false) where T : class
    {
        var stored = store || wait > options.Value.HoldRetryUpTo;
        var now = time.GetUtcNow();
        await context.Publish(new TaskAttemptFailed(taskId, attempt, error, now, stored ? now + wait : null));
        if (!stored)
        {
            await Task.Delay(wait, time, context.CancellationToken);
            return false;
        }
        // Its row's id is the task's and the next attempt's, so a redelivered attempt that fails again stores nothing twice.
        var queue = context.InputQueue();
        var message = OutboxMessage.Send(TaskHubBus.QueueAddress(queue), next) with { Id = AttemptId(taskId, attempt + 1) };
        await outbox.InsertDueAsync(message, now + wait, context.CancellationToken);
        return true;
    }

    static Guid AttemptId(Guid taskId, int attempt) =>
        new(MD5.HashData(Encoding.UTF8.GetBytes($"{taskId:N}/attempt/{attempt}")));
}
