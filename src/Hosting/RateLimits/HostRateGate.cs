using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Hosting.RateLimits;

/// <summary>
/// A call to a host with <c>Outbound:RateLimits:&lt;host&gt;</c> waits for its turn, in the process making it: such calls
/// (a callback delivery, a cron callback, a poll) are claimed for their attempt already, so the wait is bounded by the
/// call's own timeout (<c>Outbound:TimeoutSeconds</c>); a wait past it fails the attempt, which is retried as any
/// failed attempt is. A task's callee call reserves its turn before it starts instead (the Worker's StartGate), where a
/// long wait is stored rather than held.
/// </summary>
public sealed class HostRateGate(RateReservations reservations, IOptions<OutboundOptions> options, TaskHubMetrics metrics, TimeProvider time)
    : IOutboundRateGate
{
    public async Task WaitTurnAsync(Uri url, CancellationToken cancellationToken)
    {
        if (options.Value.RateLimitFor(url) is not { } limit)
            return;
        var now = time.GetUtcNow();
        var turn = (await reservations.ReserveAsync([(RateReservations.HostKey(url), limit.Interval)], now, cancellationToken))[0];
        if (turn <= now)
            return;
        metrics.Throttled("outbound", "host");
        await Task.Delay(turn - now, time, cancellationToken);
    }
}

public static class RateLimitRegistration
{
    /// <summary>The cluster's rate budgets and the host limit on every outbound call (a process with the database: Scheduler, Worker).</summary>
    public static IServiceCollection AddTaskHubRateLimits(this IServiceCollection services)
    {
        services.TryAddSingleton<RateReservations>();
        services.TryAddSingleton<IOutboundRateGate, HostRateGate>();
        return services;
    }
}
