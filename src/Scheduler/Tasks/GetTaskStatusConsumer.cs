using MassTransit;
using Microsoft.EntityFrameworkCore;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Scheduler.Persistence;

namespace TaskHub.Scheduler.Tasks;

/// <summary>Answers <see cref="ITaskClient"/>'s status requests from the task table.</summary>
public sealed class GetTaskStatusConsumer(IDbContextFactory<TaskHubDbContext> dbContexts, TimeProvider time) : IConsumer<GetTaskStatus>
{
    public async Task Consume(ConsumeContext<GetTaskStatus> context)
    {
        await using var db = await dbContexts.CreateDbContextAsync(context.CancellationToken);
        var now = time.GetUtcNow();
        var task = await db.Tasks.AsNoTracking()
            .Where(t => t.CorrelationId == context.Message.TaskId && (t.ExpiresAt == null || t.ExpiresAt > now))
            .SingleOrDefaultAsync(context.CancellationToken);
        if (task is null)
        {
            await context.RespondAsync(new TaskNotFound(context.Message.TaskId));
            return;
        }
        await context.RespondAsync(new TaskStatusSnapshot(task.CorrelationId, task.Name, TaskStatuses.InSeedWords(TaskStatuses.FromSagaState(task.CurrentState)),
            task.Current, task.Total, task.Message, task.Response, task.Error, task.Attempts, task.CreatedAt,
            task.StartedAt, task.FinishedAt));
    }
}
