namespace TaskHub.Hosting.Health;

/// <summary>The <c>Health</c> section of the Scheduler and the Worker (the Api serves health on its own port).</summary>
public sealed class HealthEndpointOptions
{
    public const string Section = "Health";

    /// <summary>Where <c>/health/live</c> and <c>/health/ready</c> listen, e.g. <c>http://127.0.0.1:8081</c>; empty: not served.</summary>
    public string? Urls { get; set; }
}
