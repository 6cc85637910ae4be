using System.Security.Cryptography;
using System.Text;
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
    /// <summary>Whether a wait this long is stored rather than held.</summary>
    public bool Stores(TimeSpan wait) => wait > options.Value.HoldRetryUpTo;

    /// <summary>
    /// Stores <paramref name="next"/> (attempt <paramref name="attempt"/> of <paramref name="taskId"/>) to be sent
    /// after <paramref name="wait"/>. Its row's id is the task's and the attempt's, so a redelivered attempt
    /// that fails again stores nothing twice.
    /// </summary>
    public Task StoreAsync<T>(ConsumeContext context, Guid taskId, int attempt, T next, TimeSpan wait) where T : class
    {
        var queue = context.ReceiveContext.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Last();
        var message = OutboxMessage.Send(TaskHubBus.QueueAddress(queue), next) with { Id = AttemptId(taskId, attempt) };
        return outbox.InsertDueAsync(message, time.GetUtcNow() + wait, context.CancellationToken);
    }

    static Guid AttemptId(Guid taskId, int attempt) =>
        new(MD5.HashData(Encoding.UTF8.GetBytes($"{taskId:N}/attempt/{attempt}")));
}
