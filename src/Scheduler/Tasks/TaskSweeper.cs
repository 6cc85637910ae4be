using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Groups;
using TaskHub.Scheduler.Persistence;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Periodic housekeeping of the task table: deletes results past their expiry; fails running
/// tasks past their deadline (an HTTP task its callee never confirmed, or one whose Worker went
/// silent: a task must end, not hang); and re-opens group gates, so a dispatch that was missed
/// only waits one sweep. Several Schedulers may sweep at once: deletes are idempotent, the saga
/// ignores a second failure, and the gate locks each group while it decides.
/// </summary>
public sealed class TaskSweeper(
    IDbContextFactory<TaskHubDbContext> dbContexts,
    GroupGate groups,
    IBus bus,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<TaskSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SweepIntervalSeconds), time);
        do
        {
            try
            {
                await DeleteExpiredResults(stoppingToken);
                await FailLostTasks(stoppingToken);
                await ReopenGroupGates(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Task sweep failed; retrying at the next interval");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> DeleteExpiredResults(CancellationToken cancellationToken)
    {
        await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var deleted = await db.Tasks.Where(t => t.ExpiresAt != null && t.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
            logger.LogInformation("Deleted {Count} expired task results", deleted);
        return deleted;
    }

    public async Task<int> FailLostTasks(CancellationToken cancellationToken)
    {
        await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var lost = await db.Tasks.AsNoTracking()
            .Where(t => t.CurrentState == "Running" && t.Deadline != null && t.Deadline < now)
            .OrderBy(t => t.Deadline)
            .Select(t => new { t.CorrelationId, t.Attempts, t.Deadline })
            .Take(1000)
            .ToListAsync(cancellationToken);
        foreach (var task in lost)
        {
            logger.LogWarning("Task {TaskId} passed its deadline {Deadline} without a result; failing it as timed out", task.CorrelationId, task.Deadline);
            await bus.Publish(new TaskFailed(task.CorrelationId, task.Attempts, "timeout", now), cancellationToken);
        }
        return lost.Count;
    }

    async Task ReopenGroupGates(CancellationToken cancellationToken)
    {
        await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
        var waiting = await db.Database.SqlQueryRaw<string>(
            "SELECT DISTINCT group_name AS \"Value\" FROM group_members WHERE state = 'waiting'").ToListAsync(cancellationToken);
        foreach (var group in waiting)
            await groups.DispatchAsync(group, bus, cancellationToken);
    }
}
