using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Health;
using TaskHub.Hosting.Outbox;
using TaskHub.Hosting.Queues;

namespace TaskHub.Scheduler.Outbox;

/// <summary>
/// Sends what the outbox holds. A Scheduler sends the messages of its own state changes as soon as they
/// commit and deletes them once the broker confirmed them; whatever did not go then (the broker was down,
/// the Scheduler died) stays in <c>outbox_messages</c>, and once its lease lapses any Scheduler's poll
/// sends it again, marked <see cref="TaskHubHeaders.Resent"/>. So every message that must follow a
/// state change goes at least once. A message sent and then sent again by a poll (the Scheduler died before
/// its delete) reaches consumers that drop it: the saga ignores what it has recorded, the group gate and
/// callback deliveries claim their rows, and the Worker's fence drops resent work for a finished task or
/// for an attempt already under way.
/// </summary>
public sealed class OutboxRelay(OutboxTable table, IServiceProvider services, BrokerSends sends, TaskQueues taskQueues, IOptions<OutboxOptions> options,
    TimeProvider time, ILogger<OutboxRelay> logger)
    : BackgroundService, IAsyncDisposable
{
    readonly OutboxOptions settings = options.Value;
    // Resolved at the first send: the saga's endpoints take the relay while the bus itself is being built.
    IBus Bus => field ??= services.GetRequiredService<IBus>();
    // Sent messages are deleted together every DeleteEvery, in one statement, and nobody waits for it: a
    // delete per send cost PostgreSQL a transaction per task (bench/README.md). A crash loses at most that
    // much bookkeeping, and those messages are sent again: consumers drop what they have done.
    readonly ConcurrentQueue<Guid> sent = new();
    static readonly TimeSpan DeleteEvery = TimeSpan.FromMilliseconds(50);
    const int MaxDelete = 5000;

    static readonly IPipe<SendContext> MarkResent = Pipe.Execute<SendContext>(c => c.Headers.Set(TaskHubHeaders.Resent, "true"));
    static readonly IPipe<PublishContext> MarkResentPublish = Pipe.Execute<PublishContext>(c => c.Headers.Set(TaskHubHeaders.Resent, "true"));

    /// <summary>
    /// Sends messages whose state change has just committed. Never throws: the state is saved, so a
    /// message that cannot go now is the poll's to send once its lease lapses.
    /// </summary>
    public async Task SendCommittedAsync(IReadOnlyList<OutboxMessage> messages)
    {
        // Well within the lease (which started before the commit): past it a poll may send the same messages.
        using var timeout = new CancellationTokenSource(settings.Lease / 2, time);
        foreach (var id in await SendAllAsync(messages, resent: false, timeout.Token))
            sent.Enqueue(id);
    }

    /// <summary>Deletes what was sent since the last time; returns how many.</summary>
    async Task<int> DeleteSentAsync()
    {
        var ids = new List<Guid>();
        while (ids.Count < MaxDelete && sent.TryDequeue(out var id))
            ids.Add(id);
        if (ids.Count == 0)
            return 0;
        try
        {
            await table.DeleteAsync(ids);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "{Count} outbox messages were sent but not deleted; a poll sends them again", ids.Count);
        }
        return ids.Count;
    }

    async Task DeleteSentLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            while (await DeleteSentAsync() == MaxDelete) { }
            await Task.Delay(DeleteEvery, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The ids of those sent; the others are logged and left for a poll.</summary>
    async Task<List<Guid>> SendAllAsync(IEnumerable<OutboxMessage> messages, bool resent, CancellationToken cancellationToken)
    {
        var outcomes = await Task.WhenAll(messages.Select(async m =>
        {
            try
            {
                await SendAsync(m, resent, cancellationToken);
                return (Guid?)m.Id;
            }
            catch (Exception ex)
            {
                if (ex is OperationCanceledException && m.Destination is { } destination)
                    sends.TimedOut(destination);
                else if (ex is OperationCanceledException)
                    sends.TimedOut(m.MessageType);
                logger.LogWarning("Outbox message {Id} ({Type}) could not be sent now ({Error}); it is sent again after its lease",
                    m.Id, m.MessageType.Name, ex.Message);
                return null;
            }
        }));
        return [.. outcomes.OfType<Guid>()];
    }

    // Not awaited past the token: after a broker restart MassTransit can hold a send (or the wait for its endpoint)
    // without heeding it, and the relay's loop with it.
    Task SendAsync(OutboxMessage message, bool resent, CancellationToken cancellationToken) =>
        SendUnboundedAsync(message, resent, cancellationToken).WaitAsync(cancellationToken);

    async Task SendUnboundedAsync(OutboxMessage message, bool resent, CancellationToken cancellationToken)
    {
        if (message.Destination is null)
        {
            await Bus.Publish(message.Message, message.MessageType, resent ? MarkResentPublish : Pipe.Empty<PublishContext>(), cancellationToken);
            return;
        }
        var endpoint = await Bus.GetSendEndpoint(await SendAddressAsync(message, cancellationToken));
        await endpoint.Send(message.Message, message.MessageType, resent ? MarkResent : Pipe.Empty<SendContext>(), cancellationToken);
    }

    /// <summary>Where a message for a destination goes: work to a task queue through <see cref="TaskQueues"/>, which declares it with its arguments.</summary>
    public Task<Uri> SendAddressAsync(OutboxMessage message, CancellationToken cancellationToken) =>
        taskQueues.SendAddressAsync(message.Destination!, message.MessageType, cancellationToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ResendLoopAsync(stoppingToken), DeleteSentLoopAsync(stoppingToken));

    async Task ResendLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await ResendLapsedAsync(stoppingToken) == settings.BatchSize) { }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Could not look for unsent outbox messages ({Error}); trying again in {Interval}", ex.Message, settings.PollInterval);
            }
            await Task.Delay(settings.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sends again the messages whose lease lapsed; returns how many it took up.</summary>
    public async Task<int> ResendLapsedAsync(CancellationToken cancellationToken)
    {
        var rows = await table.ClaimLapsedAsync(cancellationToken);
        if (rows.Count == 0)
            return 0;
        var messages = new List<OutboxMessage>(rows.Count);
        var unreadable = new List<Guid>();
        foreach (var (id, destination, type, body) in rows)
        {
            try
            {
                messages.Add(OutboxMessage.Read(id, destination, type, body));
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Outbox message {Id} of type {Type} cannot be read; it is set aside", id, type);
                unreadable.Add(id);
            }
        }
        if (unreadable.Count > 0)
            await table.SetAsideAsync(unreadable, cancellationToken);
        // Within the new lease, or another Scheduler's poll may take them up again while these still wait on the broker.
        using var lease = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lease.CancelAfter(settings.Lease / 2);
        var sent = await SendAllAsync(messages, resent: true, lease.Token);
        if (sent.Count > 0)
        {
            await table.DeleteAsync(sent);
            logger.LogInformation("Sent {Count} outbox messages left unsent by a fault", sent.Count);
        }
        return rows.Count;
    }

    /// <summary>The last deletes, of messages sent until the bus stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        while (await DeleteSentAsync() > 0) { }
    }

    public override void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose();
    }
}
