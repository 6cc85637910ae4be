using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
        if (services.GetService<IQueueProbe>() is { } probe)
            app.Use(async (http, next) =>
            {
                if (http.Request.Path == "/health" && http.Request.Query["queue"].ToString() is { Length: > 0 } queue)
                    await AnswerProbeAsync(http, probe, queue);
                else
                    await next(http);
            });
        app.MapTaskHubHealth();
        app.MapTaskHubMetrics()?.AllowAnonymous();
        await app.StartAsync(cancellationToken);
        logger.LogInformation("Health endpoints at {Urls}: /health/live, /health/ready, /metrics", string.Join(", ", app.Urls));
    }

    /// <summary>200 when a Worker answered a probe sent through <paramref name="queue"/> within <c>timeout</c> seconds (default 5), else 503.</summary>
    static async Task AnswerProbeAsync(HttpContext http, IQueueProbe probe, string queue)
    {
        var timeout = double.TryParse(http.Request.Query["timeout"], System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            && seconds is > 0 and <= 300 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(5);
        var answered = await probe.ProbeAsync(queue, timeout, http.RequestAborted);
        http.Response.StatusCode = answered ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        await http.Response.WriteAsync(answered ? "Healthy" : $"Unhealthy: no Worker answered through '{queue}' within {timeout.TotalSeconds} s");
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
        services.AddHostedService<HealthEndpoint>();
        return services.AddTaskHubHealthChecks(configuration);
    }
}
