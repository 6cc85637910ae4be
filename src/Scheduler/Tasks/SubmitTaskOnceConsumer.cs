using MassTransit;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Deduplication;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Answers a .NET producer's deduplicated send (<see cref="SubmitTaskOnce"/>): within the window the same task
/// (name, arguments, queue) gets the first one's id; otherwise the claim and the submission to the saga are committed
/// together (the outbox), and only then answered, so an answered send is never lost.
/// </summary>
public sealed class SubmitTaskOnceConsumer(NpgsqlDataSource database, OutboxTable outbox, OutboxRelay relay, TimeProvider time)
    : IConsumer<SubmitTaskOnce>
{
    public async Task Consume(ConsumeContext<SubmitTaskOnce> context)
    {
        var (task, window) = context.Message;
        var cancellationToken = context.CancellationToken;
        var submit = OutboxMessage.Send(TaskHubBus.QueueAddress(TaskHubBus.TaskSubmitQueue), task);
        var fingerprint = DeduplicationWindow.Fingerprint([task.Signature.Name, task.Queue, .. task.Signature.Args.Select(a => $"{a.Type}:{a.Value.GetRawText()}")]);
        bool claimed;
        Guid id;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            (id, claimed) = await DeduplicationWindow.ClaimAsync(connection, transaction, "task", fingerprint, task.TaskId, time.GetUtcNow(),
                window < SubmitTaskOnce.LongestWindow ? window : SubmitTaskOnce.LongestWindow, cancellationToken);
            if (claimed)
                await outbox.InsertAsync(connection, transaction, [submit], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        if (claimed)
            await relay.SendCommittedAsync([submit]);
        await context.RespondAsync(new TaskAccepted(id, Duplicate: !claimed));
    }
}
