using MassTransit;
using TaskHub.Contracts.Messages;

namespace TaskHub.Worker.Operations;

/// <summary>Stops this Worker's run of a cancelled task. Every Worker gets every cancel, on a queue of its own that goes with it.</summary>
public sealed class TaskCancelledConsumer(RunningTasks running, ILogger<TaskCancelledConsumer> logger) : IConsumer<TaskCancelled>
{
    public Task Consume(ConsumeContext<TaskCancelled> context)
    {
        running.Cancel(context.Message);
        logger.LogInformation("Task {TaskId} was cancelled", context.Message.TaskId);
        return Task.CompletedTask;
    }
}
