using TaskHub.Hosting.Persistence;
using TaskHub.Hosting.RateLimits;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Telemetry;
using TaskHub.Hosting.Health;
using TaskHub.Hosting.Outbox;
using TaskHub.Hosting.Queues;
using TaskHub.Hosting;
using TaskHub.Worker.Definitions;
using TaskHub.Worker.Execution;
using TaskHub.Worker.Handlers;
using TaskHub.Worker.HttpCallee;

using TaskHub.Worker.Health;
using TaskHub.Worker.Operations;

namespace TaskHub.Worker;

/// <summary>How a worker process is put together, as gobay's <c>RegisterWorkerHandlers</c> + <c>StartWorker</c>.</summary>
public sealed class TaskHubWorkerBuilder
{
    internal List<(string Queue, int Concurrency)> Workers { get; } = [];

    public TaskHandlerRegistry Handlers { get; } = new();

    public TaskHubWorkerBuilder RegisterWorkerHandlers(IReadOnlyDictionary<string, Delegate> handlers)
    {
        Handlers.RegisterWorkerHandlers(handlers);
        return this;
    }

    public TaskHubWorkerBuilder Register(string name, Delegate handler, TaskNamePolicy? policy = null)
    {
        Handlers.Register(name, handler, policy);
        return this;
    }

    /// <summary>The queues as consumed: "" is <c>AsyncTask:DefaultQueue</c>, a concurrency of 0 is <c>AsyncTask:Concurrency</c>.</summary>
    internal IEnumerable<(string Queue, int Concurrency)> Endpoints(AsyncTaskOptions options) =>
        Workers.Select(w => (w.Queue.Length > 0 ? w.Queue : options.DefaultQueue, w.Concurrency > 0 ? w.Concurrency : options.Concurrency));

    /// <summary>Consume <paramref name="queue"/> ("" = <c>AsyncTask:DefaultQueue</c>) running up to <paramref name="concurrency"/> tasks at once (0 = <c>AsyncTask:Concurrency</c>).</summary>
    public TaskHubWorkerBuilder StartWorker(string queue, int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(concurrency);
        Workers.Add((queue, concurrency));
        return this;
    }
}

public static class WorkerApp
{
    /// <summary>
    /// Runs the handlers <paramref name="configure"/> registers on this host's bus, with the attempt policy, fence, rate
    /// limits, cancels and heartbeat of every TaskHub Worker, and its health checks (broker, database, stuck sends; serve
    /// them as the host likes). No telemetry exporter, no HTTP: src/Worker's <c>AddTaskHubWorkerHost</c> adds those.
    /// </summary>
    public static IHostApplicationBuilder AddTaskHubWorker(this IHostApplicationBuilder builder, Action<TaskHubWorkerBuilder>? configure = null)
    {
        var worker = new TaskHubWorkerBuilder();
        configure?.Invoke(worker);
        var services = builder.Services;
        services.AddAsyncTaskOptions(builder.Configuration);
        services.AddTaskHubOutbound(builder.Configuration);
        services.AddTaskDefinitionWorker(builder.Configuration);
        services.AddOptions<WorkerOptions>().Bind(builder.Configuration.GetSection(WorkerOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TaskHubMetrics>();
        services.AddSingleton(worker.Handlers);
        services.TryAddSingleton(sp => TaskHubDatabase.CreateDataSource(sp.GetRequiredService<IOptions<AsyncTaskOptions>>().Value.ResultBackend));
        services.AddSingleton<TaskFence>();
        services.AddSingleton<OutboxTable>();
        services.AddSingleton<AttemptRetries>();
        services.AddSingleton<StartGate>();
        services.AddTaskHubRateLimits();
        services.AddTaskHubHealthChecks(builder.Configuration);
        services.AddSingleton<IQueueProbe, QueueProbe>();
        if (worker.Workers.Count == 0)
            worker.StartWorker("", 0);
        services.AddSingleton<RunningTasks>();
        services.AddSingleton(sp =>
        {
            var asyncTask = sp.GetRequiredService<IOptions<AsyncTaskOptions>>().Value;
            var http = sp.GetRequiredService<IOptions<WorkerOptions>>().Value.HttpConcurrency;
            var endpoints = worker.Endpoints(asyncTask).Concat(http > 0 ? [(asyncTask.HttpQueue, http)] : []).ToList();
            return WorkerIdentity.Of(endpoints, sp.GetRequiredService<TimeProvider>().GetUtcNow());
        });
        services.AddHostedService<WorkerHeartbeat>();
        // Before the bus (hosted services start in order): a task queue declared before priorities is replaced first.
        services.AddSingleton<TaskQueues>();
        services.AddSingleton<TaskQueueUpgrade>();
        services.AddHostedService(sp => new TaskQueueUpgradeService(sp.GetRequiredService<TaskQueueUpgrade>(),
            () => sp.GetRequiredService<WorkerIdentity>().Queues.Concat(sp.GetRequiredService<TaskDefinitionCatalog>().All.Select(d => d.Queue))));

        services.AddTaskHubBus(
            x =>
            {
                x.AddConsumer<ExecuteTaskConsumer>().ExcludeFromConfigureEndpoints();
                x.AddConsumer<CallCalleeConsumer>().ExcludeFromConfigureEndpoints();
                x.AddConsumer<QueueProbeConsumer>().ExcludeFromConfigureEndpoints();
                x.AddConsumer<TaskCancelledConsumer>().ExcludeFromConfigureEndpoints();
                x.AddTaskDefinitionConsumers();
            },
            (context, cfg) =>
            {
                var options = context.GetRequiredService<IOptions<AsyncTaskOptions>>().Value;
                foreach (var (queue, limit) in worker.Endpoints(options))
                {
                    cfg.ReceiveEndpoint(queue, e =>
                    {
                        e.ConcurrentMessageLimit = limit;
                        e.PrefetchCount = Math.Max(16, limit * 2);
                        e.EnablePriority(TaskSignature.MaxPriority);
                        // Handler failures are the consumer's own retries; this covers the infrastructure
                        // (a report that could not be published, the fence's read): an outage is waited
                        // out. Anything else goes to the error queue and the Fault fails the task.
                        e.UseMessageRetry(TransientFaults.WaitOut);
                        e.ConfigureConsumer<ExecuteTaskConsumer>(context);
                        e.ConfigureConsumer<QueueProbeConsumer>(context);
                    });
                }
                var http = context.GetRequiredService<IOptions<WorkerOptions>>().Value;
                if (http.HttpConcurrency > 0)
                    cfg.ReceiveEndpoint(options.HttpQueue, e =>
                    {
                        // Calls wait on remote callees, not on this CPU.
                        e.ConcurrentMessageLimit = http.HttpConcurrency;
                        e.PrefetchCount = Math.Max(16, http.HttpConcurrency * 2);
                        e.EnablePriority(TaskSignature.MaxPriority);
                        e.UseMessageRetry(TransientFaults.WaitOut);
                        e.ConfigureConsumer<CallCalleeConsumer>(context);
                        e.ConfigureConsumer<QueueProbeConsumer>(context);
                    });
                cfg.ConfigureTaskDefinitionEndpoints(context);
                // Every Worker hears every cancel: a queue of its own, deleted when it goes (its runs go with it).
                cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("taskhub-worker-cancels"), e => e.ConfigureConsumer<TaskCancelledConsumer>(context));
            });
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<WorkerOptions>>((host, w) => host.ConsumerStopTimeout = w.Value.StopGrace);
        return builder;
    }
}
