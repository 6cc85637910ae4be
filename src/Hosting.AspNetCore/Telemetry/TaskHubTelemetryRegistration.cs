using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace TaskHub.Hosting.Telemetry;

/// <summary>
/// OpenTelemetry for every TaskHub process, configured once (eShop's ServiceDefaults are the model):
/// traces and metrics of ASP.NET Core, HttpClient, MassTransit, Npgsql, Quartz, the runtime and TaskHub's
/// own <see cref="TaskHubMetrics"/>; a Prometheus scrape at <c>/metrics</c>; OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard <c>OTEL_*</c> variables apply).
/// <c>Telemetry:Enabled=false</c> turns it off (the benchmark measures what it costs). Spans are recorded
/// only when something takes them (OTLP set, or <c>Telemetry:Tracing=true</c>): with no exporter a span
/// per message and per statement would cost the hot path and go nowhere.
/// </summary>
public static class TaskHubTelemetryRegistration
{
    static readonly string[] Sources = [TaskHubTelemetry.Name, "MassTransit", "Npgsql", "Quartz"];
    static readonly string[] Meters = [TaskHubTelemetry.Name, "MassTransit", "Npgsql", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http"];

    public static IHostApplicationBuilder AddTaskHubTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.Services.TryAddSingleton<TaskHubMetrics>();
        // The trace and span ids in every log line's scope (the JSON console formatter writes scopes).
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (!TaskHubTelemetry.IsEnabled(builder.Configuration))
            return builder;

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m => m.AddMeter(Meters)
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
        if (otlp || builder.Configuration.GetValue("Telemetry:Tracing", false))
            telemetry.WithTracing(t => t.AddSource(Sources)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsProbe(http.Request.Path))
                .AddHttpClientInstrumentation());
        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeScopes = true;
            o.IncludeFormattedMessage = true;
        });
        if (otlp)
            telemetry.UseOtlpExporter();
        return builder;
    }

    /// <summary><c>/metrics</c> in Prometheus' text format when telemetry is on (null when it is off).</summary>
    public static IEndpointConventionBuilder? MapTaskHubMetrics(this IEndpointRouteBuilder app) =>
        app.ServiceProvider.GetService<MeterProvider>() is null ? null : app.MapPrometheusScrapingEndpoint("/metrics");

    static bool IsProbe(PathString path) => path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");
}
