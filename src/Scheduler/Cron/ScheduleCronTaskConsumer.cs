using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Cron;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Cron;

/// <summary>Creates a scheduled task, or replaces its definition: the row and its timer change together.</summary>
public sealed class ScheduleCronTaskConsumer(CronTaskStore store, ITimerScheduler timers, IOptions<CronOptions> options, TimeProvider time)
    : IConsumer<ScheduleCronTask>
{
    public async Task Consume(ConsumeContext<ScheduleCronTask> context)
    {
        var (taskId, spec, replace, owner) = context.Message;
        var cancellationToken = context.CancellationToken;
        var now = time.GetUtcNow();
        if (CronPlan.Create(spec, options.Value.Zone, now, out var refusal) is not { } plan)
        {
            await context.RespondAsync(new CronTaskRejected(taskId, refusal!.Value.Field, refusal.Value.Detail));
            return;
        }
        var key = CronPlan.TimerKey(taskId);

        if (!replace)
        {
            var created = new CronTaskRecord(taskId, plan.Kind, spec, plan.CronExpression, 1, 0, CronTaskStates.Active, now, now);
            await using (var transaction = await store.BeginAsync(cancellationToken))
            {
                if (!await transaction.InsertTaskAsync(created, owner, cancellationToken))
                {
                    await RespondToRepeatedCreate(context, plan, key);
                    return;
                }
                // Committed before the timer is armed, so even a fire due at once finds its task.
                await transaction.CommitAsync(cancellationToken);
            }
            try
            {
                var first = await timers.ScheduleAsync(key, new CronTaskFired(taskId, created.Version), plan.Schedule, cancellationToken);
                await context.RespondAsync(created.ToSnapshot(first));
            }
            catch
            {
                await store.DeleteTaskAsync(taskId, CancellationToken.None);
                throw;
            }
            return;
        }

        await using (var transaction = await store.BeginAsync(cancellationToken))
        {
            if (await transaction.LockTaskAsync(taskId, cancellationToken) is not { } existing)
            {
                await context.RespondAsync(new CronTaskNotFound(taskId));
                return;
            }
            // The count starts over with the new definition; fires of the old version are dropped.
            var replaced = existing with
            {
                Kind = plan.Kind, Spec = spec, CronExpression = plan.CronExpression, Version = existing.Version + 1,
                FireCount = 0, State = CronTaskStates.Active, UpdatedAt = now,
            };
            await transaction.UpdateTaskAsync(replaced, cancellationToken);
            // Armed while the row is locked: a fire of the new version waits for this commit.
            var first = await timers.ScheduleAsync(key, new CronTaskFired(taskId, replaced.Version), plan.Schedule, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            await context.RespondAsync(replaced.ToSnapshot(first));
        }
    }

    /// <summary>The create was delivered again (at-least-once): arm the timer if the first delivery died before it.</summary>
    async Task RespondToRepeatedCreate(ConsumeContext<ScheduleCronTask> context, CronPlan plan, TimerKey key)
    {
        var existing = (await store.FindTaskAsync(context.Message.TaskId, context.CancellationToken))!;
        var next = await timers.GetNextFireTimeAsync(key, context.CancellationToken);
        if (next is null && existing is { Version: 1, FireCount: 0 })
            next = await timers.ScheduleAsync(key, new CronTaskFired(existing.Id, existing.Version), plan.Schedule, context.CancellationToken);
        await context.RespondAsync(existing.ToSnapshot(next));
    }
}
