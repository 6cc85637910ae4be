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
    volatile string? stuck;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = services.GetRequiredService<IBusControl>();
        var sent = bus.ConnectSendObserver(sends);
        var published = bus.ConnectPublishObserver(sends);
        // A thread of its own: a process whose thread pool is starved (a stuck client blocking its threads) must
        // still be judged, and a watchdog on that pool would be starved with it.
        var thread = new Thread(() =>
        {
            try { Watch(bus, stoppingToken); }
            finally { sent.Disconnect(); published.Disconnect(); }
        }) { IsBackground = true, Name = "taskhub-watchdog" };
        thread.Start();
        return Task.CompletedTask;
    }

    void Watch(IBusControl bus, CancellationToken stoppingToken)
    {
        var probe = Task.CompletedTask;
        var probeStarted = time.GetUtcNow();
        // When the work item queued to the thread pool that has not run yet was queued; 0: none is waiting.
        long waitingSince = 0;
        while (!stoppingToken.WaitHandle.WaitOne(Every))
        {
            var now = time.GetUtcNow();
            if (Interlocked.CompareExchange(ref waitingSince, now.UtcTicks, 0) == 0)
                ThreadPool.UnsafeQueueUserWorkItem(_ => Interlocked.Exchange(ref waitingSince, 0), null);
            var queued = Interlocked.Read(ref waitingSince);
            var poolLag = queued == 0 ? TimeSpan.Zero : now - new DateTimeOffset(queued, TimeSpan.Zero);
            if (Check(bus, now, poolLag) is { } what && options.Value.ExitWhenStuck)
                Exit(what);
            // One probe at a time; one that outlives its timeout counts as a timed-out send, and the next one starts.
            if (!probe.IsCompleted && now - probeStarted > ProbeTimeout)
                sends.TimedOut(typeof(BrokerProbe));
            if ((probe.IsCompleted || now - probeStarted > ProbeTimeout) && connectedSince is not null)
                (probe, probeStarted) = (Probe(bus, stoppingToken), now);
        }
    }

    /// <summary>
    /// One publish of <see cref="BrokerProbe"/> (to an exchange nothing is bound to), so that a process with nothing to
    /// send still finds out that its send path is stuck.
    /// </summary>
    Task Probe(IBus bus, CancellationToken stoppingToken)
    {
        try
        {
            return bus.Publish(new BrokerProbe(time.GetUtcNow()), stoppingToken);
        }
        catch (Exception ex)
        {
            logger.LogDebug("The broker probe failed: {Error}", ex.Message);
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// One look: what is stuck, if anything. The receive side counts too: a bus that was healthy, and with the
    /// connection back for <c>Health:StuckSendsAfter</c> is still not (a receive endpoint MassTransit stopped and
    /// never started again), consumes nothing; and so does a thread pool that ran nothing queued to it for as long.
    /// </summary>
    string? Check(IBusControl bus, DateTimeOffset now, TimeSpan poolLag)
    {
        var after = options.Value.StuckSendsAfter;
        connectedSince = broker.IsConnected ? connectedSince ?? now : null;
        if (!broker.IsConnected)
            broker.Connect();
        var health = bus.CheckHealth();
        busWasHealthy |= health.Status == BusHealthStatus.Healthy;
        busUnhealthySince = health.Status == BusHealthStatus.Healthy || !busWasHealthy ? null : busUnhealthySince ?? now;
        stuck = connectedSince is not { } since ? null
            : sends.StuckSince(since + after) is { } destination ? $"sends to {destination} keep timing out"
            : now - since >= after && busUnhealthySince <= now - after ? $"its receive endpoints stay unhealthy ({health.Description})"
            : now - since >= after && poolLag >= after ? $"its thread pool ran nothing queued to it for {poolLag.TotalSeconds:0} s"
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
