using Microsoft.EntityFrameworkCore;

namespace TaskHub.Scheduler.Persistence;

/// <summary>
/// Applies the schema's migrations before anything else in the Scheduler starts. The Scheduler is
/// the schema's one owner; EF takes a database-wide lock, so several Schedulers starting together
/// migrate once.
/// </summary>
public sealed class DatabaseMigrator(IDbContextFactory<TaskHubDbContext> dbContexts, ILogger<DatabaseMigrator> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
                await db.Database.MigrateAsync(cancellationToken);
                logger.LogInformation("Database schema is up to date");
                return;
            }
            catch (Exception ex) when (attempt < 30 && ex is Npgsql.NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException)
            {
                logger.LogWarning("Database not reachable yet ({Message}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
