using MassTransit;
using TaskHub.Hosting.Outbox;

namespace TaskHub.Scheduler.Outbox;

/// <summary>
/// Puts a consumer behind the transactional outbox: what it sends and publishes is staged
/// (<see cref="StagingConsumeContext{T}"/>), written by its state change in the same statement, and
/// relayed once that committed. What no state write took (an event that changed nothing) is sent
/// directly afterwards, as MassTransit's in-memory outbox would; a failure there fails the message, to
/// be retried.
/// </summary>
public sealed class OutboxFilter<T>(OutboxRelay relay) : IFilter<ConsumeContext<T>> where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var staging = new StagingConsumeContext<T>(context);
        await next.Send(staging);
        staging.Staged.RunAfterCommit();
        var staged = staging.Staged.Messages;
        if (staged.Count == 0)
            return;
        if (staging.Staged.Written)
        {
            await relay.SendCommittedAsync(staged);
            return;
        }
        foreach (var message in staged)
        {
            if (message.Destination is null)
                await context.Publish(message.Message, message.MessageType, context.CancellationToken);
            else
            {
                var destination = await relay.SendAddressAsync(message, context.CancellationToken);
                await (await context.GetSendEndpoint(destination)).Send(message.Message, message.MessageType, context.CancellationToken);
            }
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("outbox").Add("type", "postgres");
}
