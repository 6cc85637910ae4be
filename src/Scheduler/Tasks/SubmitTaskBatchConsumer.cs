using MassTransit;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Records a batch of submissions (<see cref="SubmitTaskBatch"/>, issue 19): one outbox row per task, each the
/// <see cref="SubmitTask"/> for the task saga's submit queue, written in one transaction, then relayed once that committed.
/// The batch is acked only after the commit, so a batch the broker confirmed to its producer is never lost; a redelivered
/// batch writes its rows again, and the saga takes each task id once (it ignores a repeated submission in every state).
/// </summary>
public sealed class SubmitTaskBatchConsumer(NpgsqlDataSource database, OutboxTable outbox, OutboxRelay relay) : IConsumer<SubmitTaskBatch>
{
    public async Task Consume(ConsumeContext<SubmitTaskBatch> context)
    {
        var tasks = context.Message.Tasks;
        // Signed, so from a TaskHub producer; one past the limit is a bug there, not a batch to half-take.
        if (tasks is null || tasks.Count > SubmitTaskBatch.MaxTasks)
            throw new InvalidOperationException($"batch {context.Message.BatchId} holds {tasks?.Count.ToString() ?? "no"} tasks; a batch holds 1 to {SubmitTaskBatch.MaxTasks}");
        var destination = TaskHubBus.QueueAddress(TaskHubBus.TaskSubmitQueue);
        var submits = tasks.Select(task => OutboxMessage.Send(destination, task)).ToList();
        var cancellationToken = context.CancellationToken;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await outbox.InsertAsync(connection, transaction, submits, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await relay.SendCommittedAsync(submits);
    }
}

/// <summary>
/// The batches' endpoint: two at once (each is up to a thousand rows and sends: the saga behind it, not this, is what limits),
/// and no more prefetched, so one Scheduler neither holds batches another could take nor a megabyte message per batch waiting
/// in memory. Outages are waited out by the retry every Scheduler endpoint has.
/// </summary>
public sealed class SubmitTaskBatchConsumerDefinition : ConsumerDefinition<SubmitTaskBatchConsumer>
{
    const int Concurrency = 2;

    public SubmitTaskBatchConsumerDefinition()
    {
        EndpointName = TaskHubBus.TaskSubmitBatchQueue;
        ConcurrentMessageLimit = Concurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<SubmitTaskBatchConsumer> consumer,
        IRegistrationContext context)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = Concurrency;
    }
}
