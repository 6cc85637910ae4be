using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Hosting.Health;

/// <summary>
/// Serves the health routes of a process that is not a web app (the Scheduler, the Worker) on
/// <see cref="HealthEndpointOptions.Urls"/>, from a small Kestrel app of its own that asks the
/// process's own health checks.
/// </summary>
public sealed class HealthEndpoint(HealthCheckService checks, IServiceProvider services, IOptions<HealthEndpointOptions> options,
    ILogger<HealthEndpoint> logger) : IHostedService
{
    WebApplication? app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Value.Urls))
            return;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(options.Value.Urls);
        // The process's checks, not a second set: the endpoint reports on the host it serves.
        builder.Services.AddHealthChecks();
        builder.Services.AddSingleton<HealthCheckService>(checks);
        // The process's meters too: /metrics scrapes the host it serves.
        if (services.GetService<MeterProvider>() is { } meters)
            builder.Services.AddSingleton(meters);
        app = builder.Build();
        app.MapTaskHubHealth();
        app.MapTaskHubMetrics()?.AllowAnonymous();
        await app.StartAsync(cancellationToken);
        logger.LogInformation("Health endpoints at {Urls}: /health/live, /health/ready, /metrics", string.Join(", ", app.Urls));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null)
            await app.StopAsync(cancellationToken);
    }
}

public static class HealthEndpointRegistration
{
    /// <summary>The health checks, and their routes on <c>Health:Urls</c> when it is set.</summary>
    public static IHealthChecksBuilder AddTaskHubHealthEndpoint(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HealthEndpointOptions>().Bind(configuration.GetSection(HealthEndpointOptions.Section))
            .Validate(o => string.IsNullOrWhiteSpace(o.Urls) || o.Urls.Split(';').All(u => Uri.TryCreate(u, UriKind.Absolute, out _)),
                "Health:Urls must be absolute URLs separated by ';', such as http://127.0.0.1:8081")
            .ValidateOnStart();
        services.AddHostedService<HealthEndpoint>();
        return services.AddTaskHubHealthChecks();
    }
}
