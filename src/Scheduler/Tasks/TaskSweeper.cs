using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Scheduler.Cron;
using TaskHub.Scheduler.Groups;
using TaskHub.Scheduler.Persistence;

using TaskHub.Hosting.Persistence;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Periodic housekeeping of the task table: deletes results past their expiry (and ended callbacks
/// as old, and fire histories past their keep time); fails running tasks past their deadline (an
/// HTTP task its callee never confirmed, or one whose Worker went silent: a task must end, not
/// hang); and re-opens group gates, so a dispatch that was missed only waits one sweep. Several
/// Schedulers may sweep at once: deletes are idempotent, the saga ignores a second failure, and the
/// gate locks each group while it decides.
/// </summary>
public sealed class TaskSweeper(
    IDbContextFactory<TaskHubDbContext> dbContexts,
    NpgsqlDataSource database,
    GroupGate groups,
    IBus bus,
    IOptions<SchedulerOptions> options,
    IOptions<AsyncTaskOptions> asyncTask,
    IOptions<CronOptions> cron,
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

    /// <summary>
    /// Deletes results past their expiry with what hangs off them (callback deliveries and attempts,
    /// the finished group membership; hooks go by cascade), and <c>/callback/new</c> callbacks that
    /// ended longer ago than results are kept, with their fires. Histories that grow while their
    /// owner lives are cut too: a running interval's settled fires go as old as results, a scheduled
    /// task's fires after <see cref="CronOptions.HistoryDays"/>.
    /// </summary>
    public async Task<int> DeleteExpiredResults(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var resultsSince = now.AddSeconds(-asyncTask.Value.ResultsExpireIn);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(TaskRows.DeleteSql("expires_at <= $1")) { Parameters = { new NpgsqlParameter { Value = now } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH ended AS (DELETE FROM callbacks WHERE state <> 'active' AND updated_at <= $1 RETURNING id),
                 fires AS (DELETE FROM callback_fires WHERE callback_id IN (SELECT id FROM ended))
            SELECT count(*) FROM ended
            """) { Parameters = { new NpgsqlParameter { Value = resultsSince } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH settled AS (DELETE FROM callback_fires WHERE settled_at <= $1 RETURNING 1)
            SELECT count(*) FROM settled
            """) { Parameters = { new NpgsqlParameter { Value = resultsSince } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH old AS (DELETE FROM cron_task_fires WHERE fired_at < $1 RETURNING 1)
            SELECT count(*) FROM old
            """) { Parameters = { new NpgsqlParameter { Value = now.AddDays(-cron.Value.HistoryDays) } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH old AS (DELETE FROM idempotency_keys WHERE expires_at <= $1 RETURNING 1)
            SELECT count(*) FROM old
            """) { Parameters = { new NpgsqlParameter { Value = now } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH old AS (DELETE FROM deduplications WHERE expires_at <= $1 RETURNING 1)
            SELECT count(*) FROM old
            """) { Parameters = { new NpgsqlParameter { Value = now } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH old AS (DELETE FROM workflows WHERE expires_at <= $1 RETURNING id),
                 deliveries AS (DELETE FROM callback_deliveries WHERE task_id IN (SELECT id FROM old)),
                 attempts AS (DELETE FROM callback_attempts WHERE task_id IN (SELECT id FROM old))
            SELECT count(*) FROM old
            """) { Parameters = { new NpgsqlParameter { Value = now } } });
        var counts = new long[batch.BatchCommands.Count];
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            for (var i = 0; i < counts.Length; i++)
            {
                if (i > 0)
                    await reader.NextResultAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                counts[i] = reader.GetInt64(0);
            }
        }
        if (counts[0] + counts[1] > 0)
            logger.LogInformation("Deleted {Tasks} expired task results and {Callbacks} ended callbacks", counts[0], counts[1]);
        // A running interval or cron task sheds a fire at nearly every sweep: not worth a line each.
        if (counts[2] + counts[3] > 0)
            logger.LogDebug("Deleted {CallbackFires} old fires of running callbacks and {CronFires} old fires of scheduled tasks", counts[2], counts[3]);
        return (int)counts[0];
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
            await groups.DispatchAsync(group, cancellationToken);
    }
}
