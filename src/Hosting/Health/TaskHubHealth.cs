using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace TaskHub.Hosting.Health;

/// <summary>
/// Health, the same on every process: <c>/health/live</c> is 200 while the process runs and its send path is
/// not stuck (<see cref="StuckSendWatchdog"/>); <c>/health/ready</c> (and <c>/health</c>) is 200 only when every
/// readiness check passes (the broker, the database, and what the process adds), else 503. The routes are
/// src/Hosting.AspNetCore's <c>MapTaskHubHealth</c>.
/// </summary>
public static class TaskHubHealth
{
    public const string Ready = "ready";
    public const string Live = "live";

    /// <summary>The broker and database checks every process has, and the stuck-send watchdog; MassTransit adds its bus check itself.</summary>
    public static IHealthChecksBuilder AddTaskHubHealthChecks(this IServiceCollection services, IConfiguration configuration)
    {
        // Once per process: the worker package registers them, and a host that serves them (HealthEndpoint) asks again.
        if (services.Any(d => d.ServiceType == typeof(StuckSendWatchdog)))
            return services.AddHealthChecks();
        services.AddOptions<HealthEndpointOptions>().Bind(configuration.GetSection(HealthEndpointOptions.Section))
            .Validate(o => string.IsNullOrWhiteSpace(o.Urls) || o.Urls.Split(';').All(u => Uri.TryCreate(u, UriKind.Absolute, out _)),
                "Health:Urls must be absolute URLs separated by ';', such as http://127.0.0.1:8081")
            .Validate(o => o.StuckSendsAfter > TimeSpan.Zero, "Health:StuckSendsAfter must be positive, such as 00:00:15")
            .ValidateOnStart();
        services.AddSingleton<BrokerHealthCheck>();
        services.TryAddSingleton<BrokerSends>();
        services.AddSingleton<StuckSendWatchdog>();
        services.AddHostedService(sp => sp.GetRequiredService<StuckSendWatchdog>());
        return services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>("broker", tags: [Ready])
            .AddCheck<PostgresHealthCheck>("postgres", tags: [Ready])
            .AddCheck<StuckSendWatchdog>("sends", tags: [Live, Ready]);
    }
}
