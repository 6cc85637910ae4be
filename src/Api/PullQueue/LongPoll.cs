using Microsoft.Extensions.Options;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// Waiting without holding a database connection: look, and if there is nothing yet, sleep until
/// the key is signalled or the fallback interval passes, then look again, until the timeout. When
/// the process stops, waiters answer with what they have at once rather than hold up the shutdown.
/// </summary>
public sealed class LongPoll(QueueSignals signals, IOptions<PullQueueOptions> options, TaskHubMetrics metrics, TimeProvider time,
    IHostApplicationLifetime lifetime)
{
    /// <summary>Looks at least once; returns the first look that <paramref name="found"/> accepts, else the last one.</summary>
    /// <param name="operation">What waits (peek, call), for the wait's metric.</param>
    public async Task<T> UntilAsync<T>(string operation, string key, TimeSpan timeout, Func<CancellationToken, Task<T>> look, Func<T, bool> found,
        CancellationToken cancellationToken)
    {
        var fallback = TimeSpan.FromMilliseconds(options.Value.PollFallbackMs);
        var started = time.GetUtcNow();
        var deadline = started + timeout;
        using var subscription = signals.Subscribe(key);
        while (true)
        {
            // Taken before looking: a wake-up that lands during the look is not lost.
            var wakeUp = subscription.Next;
            var result = await look(cancellationToken);
            var left = deadline - time.GetUtcNow();
            if (found(result) || left <= TimeSpan.Zero || lifetime.ApplicationStopping.IsCancellationRequested)
            {
                metrics.LongPollWaited(operation, time.GetUtcNow() - started);
                return result;
            }
            await SleepAsync(wakeUp, left < fallback ? left : fallback, cancellationToken);
        }
    }

    async Task SleepAsync(Task wakeUp, TimeSpan atMost, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        var timer = Task.Delay(atMost, time, stop.Token);
        await Task.WhenAny(wakeUp, timer);
        await stop.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
