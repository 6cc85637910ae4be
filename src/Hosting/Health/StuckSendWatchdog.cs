using System.Runtime.InteropServices;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TaskHub.Hosting.Health;

/// <summary>
/// Liveness of the send path. MassTransit recovers its connection after a broker restart, but a send endpoint
/// of it can stay stuck (<see cref="BrokerSends"/>), and nothing inside the process brings it back: its bus cannot
/// be restarted. Once the broker connection has been back for <c>Health:StuckSendsAfter</c> and a destination's
/// sends still all time out (its own, or those of a probe it publishes every second), the process is stuck:
/// <c>/health/live</c> says 503 and, unless <c>Health:ExitWhenStuck</c> is false, the process exits at once with
/// <see cref="ExitCode"/>, as a kill -9 would, for its supervisor to start it again. Every process survives a
/// kill -9 by design (the fault tests). A receive side MassTransit stopped and never started again counts as stuck too.
/// </summary>
public sealed class StuckSendWatchdog(BrokerSends sends, BrokerHealthCheck broker, IServiceProvider services,
    IOptions<HealthEndpointOptions> options, TimeProvider time, ILogger<StuckSendWatchdog> logger) : BackgroundService, IHealthCheck
{
    /// <summary>EX_TEMPFAIL: stopped on purpose, to be started again.</summary>
    public const int ExitCode = 75;

    static readonly TimeSpan Every = TimeSpan.FromSeconds(1);
    // A confirmed publish takes milliseconds here; under a loaded machine, well under a second.
    static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    DateTimeOffset? connectedSince, busUnhealthySince;
    bool busWasHealthy;
    string? stuck;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = services.GetRequiredService<IBus>();
        using var sent = bus.ConnectSendObserver(sends);
        using var published = bus.ConnectPublishObserver(sends);
        var probe = Task.CompletedTask;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(Every, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stoppingToken.IsCancellationRequested)
                return;
            if (await CheckAsync(stoppingToken) is { } what && options.Value.ExitWhenStuck)
                Exit(what);
            if (probe.IsCompleted && connectedSince is not null)
                probe = ProbeAsync(bus, stoppingToken);
        }
    }

    /// <summary>
    /// One publish of <see cref="BrokerProbe"/> (to an exchange nothing is bound to), so that a process with nothing to
    /// send still finds out that its send path is stuck: the probe's timeouts count as any destination's.
    /// </summary>
    async Task ProbeAsync(IBus bus, CancellationToken stoppingToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(ProbeTimeout);
        try
        {
            await bus.Publish(new BrokerProbe(time.GetUtcNow()), deadline.Token).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            sends.TimedOut(typeof(BrokerProbe));
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogDebug("The broker probe failed: {Error}", ex.Message);
        }
    }

    /// <summary>
    /// One look: what is stuck, if anything. The receive side counts too: a bus that was healthy, and with the
    /// connection back for <c>Health:StuckSendsAfter</c> is still not (a receive endpoint MassTransit stopped and
    /// never started again), consumes nothing.
    /// </summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        var up = (await broker.CheckHealthAsync(new HealthCheckContext(), cancellationToken)).Status == HealthStatus.Healthy;
        var now = time.GetUtcNow();
        var after = options.Value.StuckSendsAfter;
        connectedSince = up ? connectedSince ?? now : null;
        var bus = services.GetRequiredService<IBusControl>().CheckHealth();
        busWasHealthy |= bus.Status == BusHealthStatus.Healthy;
        busUnhealthySince = bus.Status == BusHealthStatus.Healthy || !busWasHealthy ? null : busUnhealthySince ?? now;
        stuck = connectedSince is not { } since ? null
            : sends.StuckSince(since + after) is { } destination ? $"sends to {destination} keep timing out"
            : now - since >= after && busUnhealthySince <= now - after ? $"its receive endpoints stay unhealthy ({bus.Description})"
            : null;
        return stuck;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(stuck is { } what
            ? HealthCheckResult.Unhealthy($"{what} with the broker connected for {options.Value.StuckSendsAfter.TotalSeconds:0} s")
            : HealthCheckResult.Healthy());

    void Exit(string what)
    {
        logger.LogCritical(
            "This process is stuck: {What} though the broker connection has been back for {StuckAfter}. " +
            "Exiting with {ExitCode} to be started again (Health:ExitWhenStuck)", what, options.Value.StuckSendsAfter, ExitCode);
        // The console logger writes from a queue of its own.
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        // Not a graceful stop: the host would wait on the stuck bus to stop. What a kill -9 leaves is redelivered.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            ExitNow(ExitCode);
        Environment.Exit(ExitCode);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void ExitNow(int status);
}

/// <summary>What <see cref="StuckSendWatchdog"/> publishes to try the send path; nobody consumes it.</summary>
public sealed record BrokerProbe(DateTimeOffset At);
