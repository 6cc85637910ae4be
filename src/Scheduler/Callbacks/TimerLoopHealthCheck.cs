using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>The Scheduler's timer loop, as its health check sees it.</summary>
public interface ITimerLoop
{
    /// <summary>When the loop last went round; null before its first round.</summary>
    DateTimeOffset? LoopAt { get; }
}

/// <summary>
/// The Scheduler is ready only while its timer loop goes round: a loop that died or hangs would leave every
/// timer of this Scheduler unfired while the broker and the database look fine.
/// </summary>
public sealed class TimerLoopHealthCheck(ITimerLoop timers, IOptions<CallbackTimerOptions> options, TimeProvider time) : IHealthCheck
{
    static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    readonly DateTimeOffset _started = time.GetUtcNow();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var late = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs * 3) + Grace;
        var last = timers.LoopAt ?? _started;
        return Task.FromResult(now - last <= late
            ? HealthCheckResult.Healthy($"timer loop went round {(now - last).TotalSeconds:0.0} s ago")
            : HealthCheckResult.Unhealthy($"the timer loop has not gone round for {(now - last).TotalSeconds:0} s"));
    }
}
