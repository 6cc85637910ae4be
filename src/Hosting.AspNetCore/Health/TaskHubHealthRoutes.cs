using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskHub.Hosting.Health;

/// <summary>The routes of <see cref="TaskHubHealth"/>'s checks.</summary>
public static class TaskHubHealthRoutes
{
    public static IEndpointRouteBuilder MapTaskHubHealth(this IEndpointRouteBuilder app)
    {
        var ready = new HealthCheckOptions { ResultStatusCodes = { [HealthStatus.Degraded] = 503, [HealthStatus.Unhealthy] = 503 } };
        // Probes (a load balancer, an orchestrator) carry no API key.
        app.MapHealthChecks("/health", ready).AllowAnonymous();
        app.MapHealthChecks("/health/ready", ready).AllowAnonymous();
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(TaskHubHealth.Live),
            ResultStatusCodes = { [HealthStatus.Degraded] = 503, [HealthStatus.Unhealthy] = 503 },
        }).AllowAnonymous();
        return app;
    }
}
