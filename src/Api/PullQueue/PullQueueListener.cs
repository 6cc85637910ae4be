using Npgsql;
using TaskHub.Hosting.Persistence;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// One long-lived connection per Api process that LISTENs on the pull queue's channel and turns
/// each notification of another instance (<see cref="QueueNotifications"/>) into a wake-up of this
/// process's waiters, so a put or reply on any instance wakes the peeks and calls waiting on every
/// instance. After each (re)connection everyone looks again, since notifications sent while nobody
/// listened are gone.
/// </summary>
public sealed class PullQueueListener(NpgsqlDataSource database, QueueSignals signals, QueueNotifications notifications, TimeProvider time, ILogger<PullQueueListener> logger)
    : BackgroundService
{
    /// <summary>How long the connection may stay silent before it is probed, so a dead one is noticed.</summary>
    static readonly TimeSpan ProbeAfter = TimeSpan.FromSeconds(30);

    static readonly TimeSpan ReconnectAfter = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Pull queue notifications interrupted; waiters fall back to polling until the listener reconnects");
            }
            await Task.Delay(ReconnectAfter, time, stoppingToken);
        }
    }

    /// <summary>Returns only by throwing: the connection failed, or the host is stopping.</summary>
    async Task ListenAsync(CancellationToken stoppingToken)
    {
        await using var connection = await database.OpenConnectionAsync(stoppingToken);
        connection.Notification += (_, e) =>
        {
            if (notifications.KeyOf(e.Payload) is { } key)
                signals.Wake(key);
        };
        try
        {
            await using (var listen = new NpgsqlCommand($"LISTEN {QueueNotifications.Channel}", connection))
                await listen.ExecuteNonQueryAsync(stoppingToken);
            signals.WakeAll();
            while (true)
            {
                if (await connection.WaitAsync(ProbeAfter, stoppingToken))
                    continue;
                await using var probe = new NpgsqlCommand("SELECT 1", connection);
                await probe.ExecuteScalarAsync(stoppingToken);
            }
        }
        finally
        {
            await UnlistenAsync(connection);
        }
    }

    /// <summary>Pooled connections are not reset (<see cref="TaskHubDatabase"/>): one that still listens must not go back as it is.</summary>
    static async Task UnlistenAsync(NpgsqlConnection connection)
    {
        if (connection.FullState != System.Data.ConnectionState.Open)
            return;
        try
        {
            await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
            await unlisten.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // A broken connection is not returned to the pool.
        }
    }
}
