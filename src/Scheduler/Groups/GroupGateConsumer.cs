using MassTransit;
using TaskHub.Contracts.Messages;

namespace TaskHub.Scheduler.Groups;

/// <summary>A task joins its group's line, or leaves its slot; either way the gate lets in whoever is next.</summary>
public sealed class GroupGateConsumer(GroupGate gate) : IConsumer<EnqueueInGroup>, IConsumer<ReleaseGroupSlot>
{
    public async Task Consume(ConsumeContext<EnqueueInGroup> context)
    {
        await gate.EnqueueAsync(context.Message, context.CancellationToken);
        await gate.DispatchAsync(context.Message.Group, context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<ReleaseGroupSlot> context)
    {
        await gate.ReleaseAsync(context.Message.TaskId, context.CancellationToken);
        await gate.DispatchAsync(context.Message.Group, context.CancellationToken);
    }
}
