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
/// kill -9 by design (the fault tests).
/// </summary>
public sealed class StuckSendWatchdog(BrokerSends sends, BrokerHealthCheck broker, IServiceProvider services,
    IOptions<HealthEndpointOptions> options, TimeProvider time, ILogger<StuckSendWatchdog> logger) : BackgroundService, IHealthCheck
{
    /// <summary>EX_TEMPFAIL: stopped on purpose, to be started again.</summary>
    public const int ExitCode = 75;

    static readonly TimeSpan Every = TimeSpan.FromSeconds(1);
    // A confirmed publish takes milliseconds here; under a loaded machine, well under a second.
    static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    DateTimeOffset? connectedSince;
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
            if (await CheckAsync(stoppingToken) is { } destination && options.Value.ExitWhenStuck)
                Exit(destination);
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

    /// <summary>One look: the stuck destination, if any.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        var up = (await broker.CheckHealthAsync(new HealthCheckContext(), cancellationToken)).Status == HealthStatus.Healthy;
        var now = time.GetUtcNow();
        connectedSince = up ? connectedSince ?? now : null;
        stuck = connectedSince is { } since ? sends.StuckSince(since + options.Value.StuckSendsAfter) : null;
        return stuck;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(stuck is { } destination
            ? HealthCheckResult.Unhealthy($"sends to {destination} keep timing out with the broker connected for {options.Value.StuckSendsAfter.TotalSeconds:0} s")
            : HealthCheckResult.Healthy());

    void Exit(string destination)
    {
        logger.LogCritical(
            "Sends to {Destination} keep timing out though the broker connection has been back for {StuckAfter}: this process's send path is stuck. " +
            "Exiting with {ExitCode} to be started again (Health:ExitWhenStuck)", destination, options.Value.StuckSendsAfter, ExitCode);
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
