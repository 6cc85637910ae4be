using System.Reflection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace TaskHub.Worker.Operations;

/// <summary>What a Worker process says of itself in <c>workers</c>: where it runs, what it consumes, how many tasks at once.</summary>
public sealed record WorkerIdentity(string Id, string Host, int ProcessId, IReadOnlyList<string> Queues, int Concurrency, string Version, DateTimeOffset StartedAt)
{
    public static WorkerIdentity Of(IReadOnlyList<(string Queue, int Concurrency)> endpoints, DateTimeOffset startedAt)
    {
        var host = Environment.MachineName;
        var pid = Environment.ProcessId;
        var version = typeof(WorkerIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return new($"{host}:{pid}:{Guid.NewGuid().ToString("N")[..6]}", host, pid,
            endpoints.Select(e => e.Queue).ToArray(), endpoints.Sum(e => e.Concurrency), version, startedAt);
    }
}

/// <summary>
/// Writes this Worker's row every <see cref="WorkerOptions.HeartbeatInterval"/> with its tasks in flight, so
/// <c>GET /workers</c> lists the live ones and marks those gone silent; a graceful stop says so. Rows silent
/// for a day are deleted by whichever Worker beats next.
/// </summary>
public sealed class WorkerHeartbeat(
    NpgsqlDataSource database, WorkerIdentity identity, RunningTasks running, IOptions<WorkerOptions> options, TimeProvider time,
    ILogger<WorkerHeartbeat> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        do
        {
            try
            {
                await BeatAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The schema may not be migrated yet, or the database away: the next beat tries again.
                logger.LogDebug(ex, "Worker heartbeat failed");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    async Task BeatAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO workers (id, host, process_id, queues, concurrency, in_flight, version, started_at, last_seen_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (id) DO UPDATE SET in_flight = EXCLUDED.in_flight, last_seen_at = EXCLUDED.last_seen_at, stopped_at = NULL
            """)
        {
            Parameters =
            {
                new() { Value = identity.Id }, new() { Value = identity.Host }, new() { Value = identity.ProcessId },
                new() { Value = identity.Queues.ToArray() }, new() { Value = identity.Concurrency }, new() { Value = running.Count },
                new() { Value = identity.Version }, new() { Value = identity.StartedAt }, new() { Value = now },
            },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM workers WHERE last_seen_at < $1") { Parameters = { new() { Value = now.AddDays(-1) } } });
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await using var command = database.CreateCommand("UPDATE workers SET stopped_at = $2, in_flight = 0 WHERE id = $1");
            command.Parameters.AddWithValue(identity.Id);
            command.Parameters.AddWithValue(time.GetUtcNow());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Could not record the Worker's stop");
        }
    }
}
