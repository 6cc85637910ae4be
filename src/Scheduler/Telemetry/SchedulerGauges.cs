using Npgsql;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Scheduler.Telemetry;

/// <summary>
/// The gauges read from the tables every few seconds (a scrape must not wait for a count): group members
/// waiting for a slot, and the outbox backlog (messages sent but not yet known to have gone).
/// </summary>
public sealed class SchedulerGauges(NpgsqlDataSource database, TaskHubMetrics metrics, TimeProvider time, ILogger<SchedulerGauges> logger)
    : BackgroundService
{
    static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    long _groupWaiting, _outboxBacklog;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.Gauge("taskhub.group.members.waiting", "{task}", "Group members waiting for a slot", () => Interlocked.Read(ref _groupWaiting));
        metrics.Gauge("taskhub.outbox.backlog", "{message}", "Outbox messages not yet known to be sent", () => Interlocked.Read(ref _outboxBacklog));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var command = database.CreateCommand("""
                    SELECT (SELECT count(*) FROM group_members WHERE state = 'waiting'), (SELECT count(*) FROM outbox_messages)
                    """);
                await using var reader = await command.ExecuteReaderAsync(stoppingToken);
                await reader.ReadAsync(stoppingToken);
                Interlocked.Exchange(ref _groupWaiting, reader.GetInt64(0));
                Interlocked.Exchange(ref _outboxBacklog, reader.GetInt64(1));
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogDebug("Gauges not read: {Error}", ex.Message);
            }
            try
            {
                await Task.Delay(Every, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
