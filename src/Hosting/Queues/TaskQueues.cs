using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Hosting.Queues;

/// <summary>
/// The task queues: every queue work (<see cref="IWorkMessage"/>) is sent to, declared by all with the same arguments,
/// <c>x-max-priority</c> <see cref="TaskSignature.MaxPriority"/>. RabbitMQ refuses a declaration whose arguments differ
/// from the queue's (PRECONDITION_FAILED), and MassTransit declares a <c>queue:</c> address it sends to without any,
/// so work is not sent to <c>queue:X</c> as MassTransit would: <see cref="SendAddressAsync"/> declares X here, with
/// its arguments, and sends to X's exchange (declared as MassTransit's receive endpoint declares it, and bound to X).
/// </summary>
public sealed class TaskQueues(IOptions<AsyncTaskOptions> options, TimeProvider time, ILogger<TaskQueues> logger) : IAsyncDisposable
{
    public const string MaxPriorityArgument = "x-max-priority";

    /// <summary>A task queue's arguments, as every declarer gives them.</summary>
    public static Dictionary<string, object?> Arguments() => new() { [MaxPriorityArgument] = TaskSignature.MaxPriority };

    /// <summary>
    /// How long a queue found in its old form (no <c>x-max-priority</c>, declared before priorities) is sent to as it is
    /// before it is declared again: its Worker replaces it when it starts (<see cref="TaskQueueUpgrade"/>).
    /// </summary>
    static readonly TimeSpan OldQueueRecheck = TimeSpan.FromSeconds(10);

    readonly ConcurrentDictionary<string, DateTimeOffset> declared = new(StringComparer.Ordinal);
    readonly SemaphoreSlim opening = new(1, 1);
    IConnection? connection;

    /// <summary>
    /// Where <paramref name="messageType"/> goes for <paramref name="destination"/>: for work sent to <c>queue:X</c>, X's
    /// exchange once X is declared (once per process, and again while X is in its old form); anything else as it is.
    /// Throws when the broker cannot be reached: the send fails, to be made again (the outbox keeps it).
    /// </summary>
    public async Task<Uri> SendAddressAsync(Uri destination, Type messageType, CancellationToken cancellationToken)
    {
        if (destination.Scheme != "queue" || !typeof(IWorkMessage).IsAssignableFrom(messageType))
            return destination;
        var queue = destination.AbsolutePath;
        if (!declared.TryGetValue(queue, out var until) || time.GetUtcNow() >= until)
        {
            var current = await DeclareAsync(queue, cancellationToken);
            if (!current)
                logger.LogWarning("Task queue {Queue} was declared without {Argument} (before priorities): its tasks' priorities are " +
                    "ignored until a Worker of this version replaces it (README, Priorities)", queue, MaxPriorityArgument);
            declared[queue] = current ? DateTimeOffset.MaxValue : time.GetUtcNow() + OldQueueRecheck;
        }
        return new Uri($"exchange:{queue}");
    }

    /// <summary>
    /// Declares <paramref name="queue"/> as a task queue with its exchange and their binding; false when the queue
    /// exists in its old form (it is then left as it is, still bound to its exchange).
    /// </summary>
    public async Task<bool> DeclareAsync(string queue, CancellationToken cancellationToken)
    {
        await using var channel = await ChannelAsync(confirms: false, cancellationToken);
        await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, Arguments(),
                cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.PreconditionFailed)
        {
            return false;
        }
        await channel.QueueBindAsync(queue, queue, "", cancellationToken: cancellationToken);
        return true;
    }

    /// <summary>A channel of this class's connection (opened on first use; RabbitMQ's client recovers it).</summary>
    public async Task<IChannel> ChannelAsync(bool confirms, CancellationToken cancellationToken)
    {
        if (connection is null)
        {
            await opening.WaitAsync(cancellationToken);
            try
            {
                connection ??= await new ConnectionFactory
                {
                    Uri = new Uri(options.Value.Broker),
                    AutomaticRecoveryEnabled = true,
                    TopologyRecoveryEnabled = false,
                    NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
                    RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                    ClientProvidedName = "taskhub-task-queues",
                }.CreateConnectionAsync(cancellationToken);
            }
            finally
            {
                opening.Release();
            }
        }
        return await connection.CreateChannelAsync(new CreateChannelOptions(confirms, confirms), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (connection is not null)
            await connection.DisposeAsync();
    }
}
