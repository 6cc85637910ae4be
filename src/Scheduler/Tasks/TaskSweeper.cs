using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Persistence;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Periodic housekeeping of the task table: deletes results past their expiry, and fails
/// running tasks whose Worker went silent past the deadline it announced (a lost task must end,
/// not hang). Several Schedulers may sweep at once: deletes are idempotent and the saga ignores
/// a second failure.
/// </summary>
public sealed class TaskSweeper(
    IDbContextFactory<TaskHubDbContext> dbContexts,
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
        var cutoff = now - TimeSpan.FromSeconds(options.Value.LostTaskGraceSeconds);
        var lost = await db.Tasks.AsNoTracking()
            .Where(t => t.CurrentState == "Running" && t.Deadline != null && t.Deadline < cutoff)
            .Select(t => new { t.CorrelationId, t.Attempts, t.Deadline })
            .Take(1000)
            .ToListAsync(cancellationToken);
        foreach (var task in lost)
        {
            logger.LogWarning("Task {TaskId} passed its deadline {Deadline} without a result; failing it", task.CorrelationId, task.Deadline);
            await bus.Publish(new TaskFailed(task.CorrelationId, task.Attempts, "timeout: no result from the worker before the task's deadline", now),
                cancellationToken);
        }
        return lost.Count;
    }
}
