namespace TaskHub.Hosting.Health;

/// <summary>The <c>Health</c> section, the same on every process.</summary>
public sealed class HealthEndpointOptions
{
    public const string Section = "Health";

    /// <summary>
    /// Where the Scheduler and the Worker serve <c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c>, e.g.
    /// <c>http://127.0.0.1:8081</c>; empty: not served. The Api serves them on its own port.
    /// </summary>
    public string? Urls { get; set; }

    /// <summary>
    /// How long the broker connection must have been back before sends that keep timing out mean this process's
    /// send path is stuck (<see cref="StuckSendWatchdog"/>). About what MassTransit takes to reconnect (5-15 s here):
    /// a restart it did not need costs a few seconds.
    /// </summary>
    public TimeSpan StuckSendsAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Whether a process whose send path is stuck exits with <see cref="StuckSendWatchdog.ExitCode"/> for its
    /// supervisor to start it again (run.sh, docker-compose's restart policy, an orchestrator); false: only
    /// <c>/health/live</c> says 503, for an orchestrator that restarts on it.
    /// </summary>
    public bool ExitWhenStuck { get; set; } = true;
}
