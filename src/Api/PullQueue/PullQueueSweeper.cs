using Microsoft.Extensions.Options;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// Deletes cached results once they have expired and no call can still be waiting for them (a call
/// waits at most <see cref="PullQueueOptions.MaxTimeout"/>). Every Api instance sweeps; the delete is idempotent.
/// </summary>
public sealed class PullQueueSweeper(PullQueueStore store, IOptions<PullQueueOptions> options, TimeProvider time, ILogger<PullQueueSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SweepIntervalSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var deleted = await store.DeleteExpiredAsync(time.GetUtcNow() - TimeSpan.FromSeconds(options.Value.MaxTimeout), stoppingToken);
                if (deleted > 0)
                    logger.LogDebug("Deleted {Count} expired pull queue results", deleted);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Pull queue sweep failed; retrying at the next interval");
            }
        }
    }
}
