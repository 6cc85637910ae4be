using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace TaskHub.Hosting.Queues;

/// <summary>
/// Replaces a task queue declared before priorities (no <c>x-max-priority</c>; RabbitMQ cannot change a queue's
/// arguments) by one with them, keeping every message, before this Worker's bus declares and consumes it. Under a lock
/// (an exclusive queue: one upgrader per queue at a time, released if its process dies):
/// <list type="number">
/// <item>a holding queue <c>X.priority-upgrade</c> (with the new arguments) is bound to X's exchange, then X unbound
/// from it, so what is sent meanwhile waits there;</item>
/// <item>X's messages are moved to the holding queue (each published with a confirm before it is acknowledged), and X
/// is deleted only if empty and unused;</item>
/// <item>X is declared with the arguments and bound, the holding queue unbound, its messages moved back, and it is
/// deleted only if empty.</item>
/// </list>
/// A crash at any step leaves every message in X or the holding queue, and the next start goes on from there. A
/// message crossing at a step may be delivered twice (a move whose acknowledgement was lost, a send while both queues
/// were bound): at-least-once as everywhere, and the Worker's fence drops a second copy. X with consumers (Workers of
/// the previous version) is not touched: the start fails saying so.
/// </summary>
public sealed class TaskQueueUpgrade(TaskQueues queues, ILogger<TaskQueueUpgrade> logger)
{
    const int Rounds = 5;

    public static string HoldingQueue(string queue) => $"{queue}.priority-upgrade";

    public async Task UpgradeAsync(string queue, CancellationToken cancellationToken)
    {
        if (await queues.DeclareAsync(queue, cancellationToken) && !await ExistsAsync(HoldingQueue(queue), cancellationToken))
            return;
        await using var held = await LockAsync(queue, cancellationToken);
        var holding = HoldingQueue(queue);
        for (var round = 1; !await queues.DeclareAsync(queue, cancellationToken); round++)
        {
            if (round > Rounds)
                throw new InvalidOperationException($"task queue {queue} could not be replaced by a priority queue in {Rounds} rounds " +
                    "(something declares it again without x-max-priority: a TaskHub process of the previous version?)");
            await ReplaceOldAsync(queue, holding, cancellationToken);
        }
        // X is a priority queue (and bound): what the holding queue took goes back into it.
        if (!await ExistsAsync(holding, cancellationToken))
            return;
        await using (var channel = await queues.ChannelAsync(confirms: false, cancellationToken))
            await channel.QueueUnbindAsync(holding, queue, "", cancellationToken: cancellationToken);
        var moved = await MoveAsync(holding, queue, cancellationToken);
        await DeleteEmptyAsync(holding, cancellationToken);
        logger.LogInformation("Task queue {Queue} is a priority queue now; {Count} messages moved back from {Holding}", queue, moved, holding);
    }

    /// <summary>Empties X (old form) into the holding queue, which takes what is sent meanwhile, and deletes X.</summary>
    async Task ReplaceOldAsync(string queue, string holding, CancellationToken cancellationToken)
    {
        await using (var channel = await queues.ChannelAsync(confirms: false, cancellationToken))
        {
            var old = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            if (old.ConsumerCount > 0)
                throw new InvalidOperationException($"task queue {queue} has no x-max-priority and {old.ConsumerCount} consumers: stop the " +
                    "Workers of the previous version that consume it, then start this one again (README, Priorities: upgrading task queues)");
            logger.LogWarning("Task queue {Queue} has no x-max-priority: replacing it by a priority queue ({Count} messages move through {Holding})",
                queue, old.MessageCount, holding);
            await channel.QueueDeclareAsync(holding, durable: true, exclusive: false, autoDelete: false, TaskQueues.Arguments(),
                cancellationToken: cancellationToken);
            await channel.QueueBindAsync(holding, queue, "", cancellationToken: cancellationToken);
            await channel.QueueUnbindAsync(queue, queue, "", cancellationToken: cancellationToken);
        }
        await MoveAsync(queue, holding, cancellationToken);
        await DeleteEmptyAsync(queue, cancellationToken);
    }

    /// <summary>Moves every message of <paramref name="from"/> to <paramref name="to"/>, as it was; each is acknowledged once the broker confirmed its copy.</summary>
    async Task<long> MoveAsync(string from, string to, CancellationToken cancellationToken)
    {
        await using var channel = await queues.ChannelAsync(confirms: true, cancellationToken);
        long moved = 0;
        while (await channel.BasicGetAsync(from, autoAck: false, cancellationToken) is { } message)
        {
            await channel.BasicPublishAsync("", to, mandatory: true, new BasicProperties(message.BasicProperties), message.Body, cancellationToken);
            await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }
        return moved;
    }

    /// <summary>Deletes <paramref name="queue"/> if it holds nothing and nobody consumes it; else its messages are moved again by the caller's next round.</summary>
    async Task DeleteEmptyAsync(string queue, CancellationToken cancellationToken)
    {
        try
        {
            await using var channel = await queues.ChannelAsync(confirms: false, cancellationToken);
            await channel.QueueDeleteAsync(queue, ifUnused: true, ifEmpty: true, cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.PreconditionFailed)
        {
            logger.LogWarning("Queue {Queue} was not deleted ({Reason}); it is emptied again", queue, ex.ShutdownReason.ReplyText);
        }
    }

    async Task<bool> ExistsAsync(string queue, CancellationToken cancellationToken)
    {
        try
        {
            await using var channel = await queues.ChannelAsync(confirms: false, cancellationToken);
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            return false;
        }
    }

    /// <summary>Holds the upgrade lock of <paramref name="queue"/> (an exclusive queue, gone with its connection) until disposed.</summary>
    async Task<IAsyncDisposable> LockAsync(string queue, CancellationToken cancellationToken)
    {
        var name = $"{queue}.priority-upgrade-lock";
        while (true)
        {
            var channel = await queues.ChannelAsync(confirms: false, cancellationToken);
            try
            {
                await channel.QueueDeclareAsync(name, durable: false, exclusive: true, autoDelete: false, cancellationToken: cancellationToken);
                return new UpgradeLock(channel, name);
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.ResourceLocked)
            {
                await channel.DisposeAsync();
                logger.LogInformation("Another Worker is upgrading task queue {Queue}; waiting for it", queue);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    sealed class UpgradeLock(IChannel channel, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
            await channel.DisposeAsync();
        }
    }
}

/// <summary>
/// Upgrades this Worker's task queues before its bus starts (registered before it), so the bus finds them in their new form.
/// A broker not reachable yet is waited for as MassTransit's start waits for it (a minute).
/// </summary>
public sealed class TaskQueueUpgradeService(TaskQueueUpgrade upgrade, Func<IEnumerable<string>> queues) : IHostedService
{
    static readonly TimeSpan WaitForBroker = TimeSpan.FromSeconds(60);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var giveUpAt = DateTime.UtcNow + WaitForBroker;
        foreach (var queue in queues().Distinct())
        {
            while (true)
            {
                try
                {
                    await upgrade.UpgradeAsync(queue, cancellationToken);
                    break;
                }
                catch (Exception ex) when ((ex is BrokerUnreachableException or AlreadyClosedException) && DateTime.UtcNow < giveUpAt)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
