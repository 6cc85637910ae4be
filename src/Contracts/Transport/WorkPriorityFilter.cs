using MassTransit;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Contracts.Transport;

/// <summary>
/// Gives every send of a work message (<see cref="IWorkMessage"/>) the RabbitMQ priority its task has. It is read from the
/// message itself at the moment it goes to the broker, so whoever sends it (the saga, the group gate, the outbox relay
/// sending a stored retry or an outbox row again) sends it with its priority: the outbox keeps messages, not send pipes.
/// </summary>
public sealed class WorkPriorityFilter<T> : IFilter<SendContext<T>> where T : class
{
    public Task Send(SendContext<T> context, IPipe<SendContext<T>> next)
    {
        if (context.Message is IWorkMessage work && IWorkMessage.PriorityOf(work) is > 0 and var priority)
            context.TrySetPriority((byte)Math.Min(priority, TaskSignature.MaxPriority));
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("workPriority");
}
