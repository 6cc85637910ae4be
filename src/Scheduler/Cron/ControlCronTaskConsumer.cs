using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Cron;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Cron;

/// <summary>An operator pauses, resumes or fires a scheduled task; the row and its timer change together, under the row's lock.</summary>
public sealed class ControlCronTaskConsumer(CronTaskStore store, ITimerScheduler timers, IOptions<CronOptions> options, TimeProvider time)
    : IConsumer<ControlCronTask>
{
    public async Task Consume(ConsumeContext<ControlCronTask> context)
    {
        var (taskId, action) = context.Message;
        var cancellationToken = context.CancellationToken;
        var key = CronPlan.TimerKey(taskId);
        await using var transaction = await store.BeginAsync(cancellationToken);
        if (await transaction.LockTaskAsync(taskId, cancellationToken) is not { } task)
        {
            await context.RespondAsync(new CronTaskNotFound(taskId));
            return;
        }
        var next = task.State == CronTaskStates.Active ? await timers.GetNextFireTimeAsync(key, cancellationToken) : null;
        if (task.State == CronTaskStates.Completed || task.State == CronTaskStates.Active && next is null)
        {
            await context.RespondAsync(new CronTaskRejected(taskId, "id", "The task has completed: it will not fire again."));
            return;
        }

        var now = time.GetUtcNow();
        switch (action)
        {
            case CronTaskAction.Pause when task.State == CronTaskStates.Active:
                task = task with { State = CronTaskStates.Paused, UpdatedAt = now };
                await transaction.UpdateTaskAsync(task, cancellationToken);
                await timers.CancelAsync(key, cancellationToken);
                next = null;
                break;
            case CronTaskAction.Resume when task.State == CronTaskStates.Paused:
                // Armed from now: fires missed while paused are not made up (a quick task past its time fires at once).
                var plan = CronPlan.Create(task.Spec, options.Value.Zone, now, out var refusal);
                if (plan is null)
                {
                    await context.RespondAsync(new CronTaskRejected(taskId, refusal!.Value.Field, refusal.Value.Detail));
                    return;
                }
                task = task with { State = CronTaskStates.Active, UpdatedAt = now };
                await transaction.UpdateTaskAsync(task, cancellationToken);
                next = await timers.ScheduleAsync(key, new CronTaskFired(taskId, task.Version), plan.Schedule, cancellationToken);
                break;
            case CronTaskAction.Fire:
                // Decided and delivered by the fires' consumer like a timer's fire, once this answer's commit is done.
                await context.Publish(new CronTaskFired(taskId, task.Version, OnDemand: true), cancellationToken);
                break;
        }
        await transaction.CommitAsync(cancellationToken);
        await context.RespondAsync(task.ToSnapshot(next));
    }
}
