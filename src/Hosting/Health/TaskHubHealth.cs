using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace TaskHub.Hosting.Health;

/// <summary>
/// Health, the same on every process: <c>/health/live</c> is 200 while the process runs;
/// <c>/health/ready</c> (and <c>/health</c>) is 200 only when every readiness check passes (the
/// broker, the database, and what the process adds), else 503.
/// </summary>
public static class TaskHubHealth
{
    public const string Ready = "ready";

    /// <summary>The broker and database checks every process has; MassTransit adds its bus check itself.</summary>
    public static IHealthChecksBuilder AddTaskHubHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<BrokerHealthCheck>();
        return services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>("broker", tags: [Ready])
            .AddCheck<PostgresHealthCheck>("postgres", tags: [Ready]);
    }

    public static IEndpointRouteBuilder MapTaskHubHealth(this IEndpointRouteBuilder app)
    {
        var ready = new HealthCheckOptions { ResultStatusCodes = { [HealthStatus.Degraded] = 503, [HealthStatus.Unhealthy] = 503 } };
        // Probes (a load balancer, an orchestrator) carry no API key.
        app.MapHealthChecks("/health", ready).AllowAnonymous();
        app.MapHealthChecks("/health/ready", ready).AllowAnonymous();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        return app;
    }
}
