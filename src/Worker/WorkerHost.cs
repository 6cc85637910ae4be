using Microsoft.Extensions.Options;
using TaskHub.Hosting.Health;
using TaskHub.Hosting.Telemetry;
using TaskHub.Worker.Samples;

namespace TaskHub.Worker;

/// <summary>
/// TaskHub's deployable Worker: the worker package's <see cref="WorkerApp.AddTaskHubWorker"/> with what a process of
/// ours adds around it: telemetry (OTLP, Prometheus), the health routes on <c>Health:Urls</c>, and the sample handlers
/// when <c>Worker:Samples</c> is true (the development profile's appsettings turns them on; off by default).
/// </summary>
public static class WorkerHost
{
    public const string SamplesKey = WorkerOptions.Section + ":Samples";

    public static IHostApplicationBuilder AddTaskHubWorkerHost(this IHostApplicationBuilder builder, Action<TaskHubWorkerBuilder>? configure = null)
    {
        builder.AddTaskHubTelemetry("taskhub-worker");
        var samples = SamplesOn(builder.Configuration);
        builder.AddTaskHubWorker(w =>
        {
            configure?.Invoke(w);
            if (samples)
            {
                SampleHandlers.Register(w.Handlers);
                SampleTaskHooks.Register(w.Handlers);
            }
        });
        builder.Services.AddTaskHubHealthEndpoint(builder.Configuration);
        return builder;
    }

    /// <summary><c>Worker:Samples</c>: absent or empty is false; anything but true or false stops the host, naming the key.</summary>
    static bool SamplesOn(IConfiguration configuration) => configuration[SamplesKey] switch
    {
        null or "" => false,
        var value when bool.TryParse(value, out var on) => on,
        var value => throw new OptionsValidationException(WorkerOptions.Section, typeof(WorkerOptions),
            [$"{SamplesKey} must be true or false (was '{value}')"]),
    };
}
