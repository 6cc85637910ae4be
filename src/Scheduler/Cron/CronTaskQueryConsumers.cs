using MassTransit;
using TaskHub.Contracts.Cron;

namespace TaskHub.Scheduler.Cron;

/// <summary>Stops and removes a task; its history goes with it.</summary>
public sealed class DeleteCronTaskConsumer(CronTaskStore store, Timers.ITimerScheduler timers) : IConsumer<DeleteCronTask>
{
    public async Task Consume(ConsumeContext<DeleteCronTask> context)
    {
        var taskId = context.Message.TaskId;
        var key = CronPlan.TimerKey(taskId);
        await using var transaction = await store.BeginAsync(context.CancellationToken);
        var deleted = await transaction.DeleteTaskAsync(taskId, context.CancellationToken);
        // Also without a row: a timer left behind by a failed create must not fire forever.
        await timers.CancelAsync(key, context.CancellationToken);
        await transaction.CommitAsync(context.CancellationToken);
        if (deleted)
            await context.RespondAsync(new CronTaskDeleted(taskId));
        else
            await context.RespondAsync(new CronTaskNotFound(taskId));
    }
}

/// <summary>A task's definition with its next fire time from Quartz.</summary>
public sealed class GetCronTaskConsumer(CronTaskStore store, Timers.ITimerScheduler timers) : IConsumer<GetCronTask>
{
    public async Task Consume(ConsumeContext<GetCronTask> context)
    {
        var taskId = context.Message.TaskId;
        if (await store.FindTaskAsync(taskId, context.CancellationToken) is not { } task)
        {
            await context.RespondAsync(new CronTaskNotFound(taskId));
            return;
        }
        var next = task.State == CronTaskStates.Active ? await timers.GetNextFireTimeAsync(CronPlan.TimerKey(taskId), context.CancellationToken) : null;
        await context.RespondAsync(task.ToSnapshot(next));
    }
}

/// <summary>The receiver's SUCCESS or FAILED for one fire (<c>POST /v1/task/status</c>).</summary>
public sealed class ReportCronFireConsumer(CronTaskStore store) : IConsumer<ReportCronFire>
{
    public async Task Consume(ConsumeContext<ReportCronFire> context)
    {
        var (token, status, at) = context.Message;
        var (taskId, refusal) = await store.ReportAsync(token, status, at, context.CancellationToken);
        if (taskId is { } id)
            await context.RespondAsync(new CronFireReported(token, id, status));
        else
            await context.RespondAsync(new CronFireNotFound(token, refusal!));
    }
}
