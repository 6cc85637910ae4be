using TaskHub.Hosting.Persistence;
using TaskHub.Hosting.RateLimits;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Telemetry;
using TaskHub.Hosting.Health;
using TaskHub.Hosting.Outbox;
using TaskHub.Hosting.Queues;
using TaskHub.Hosting;
using TaskHub.Scheduler.Callbacks;
using TaskHub.Scheduler.Cron;
using TaskHub.Scheduler.Groups;
using TaskHub.Scheduler.Hooks;
using TaskHub.Scheduler.Outbox;
using TaskHub.Scheduler.Persistence.Sagas;
using TaskHub.Scheduler.Persistence;
using TaskHub.Scheduler.Tasks;
using TaskHub.Scheduler.Timers;
using TaskHub.Scheduler.Workflows;

namespace TaskHub.Scheduler;

/// <summary>Everything the Scheduler process runs; tests compose the same host.</summary>
public static class SchedulerApp
{
    public static IHostApplicationBuilder AddTaskHubScheduler(this IHostApplicationBuilder builder)
    {
        builder.AddTaskHubTelemetry("taskhub-scheduler");
        var services = builder.Services;
        services.AddAsyncTaskOptions(builder.Configuration);
        services.AddTaskHubOutbound(builder.Configuration);
        services.AddOptions<SchedulerOptions>().Bind(builder.Configuration.GetSection(SchedulerOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.AddPooledDbContextFactory<TaskHubDbContext>((sp, options) =>
            TaskHubDbContext.Configure(options, sp.GetRequiredService<IOptions<AsyncTaskOptions>>().Value.ResultBackend));

        // Registered before the bus so the schema exists before the first message is consumed.
        services.AddHostedService<DatabaseMigrator>();

        services.AddSingleton(sp => TaskHubDatabase.CreateDataSource(sp.GetRequiredService<IOptions<AsyncTaskOptions>>().Value.ResultBackend));
        services.AddTaskHubRateLimits();
        services.AddOptions<OutboxOptions>().Bind(builder.Configuration.GetSection(OutboxOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OutboxTable>();
        services.AddSingleton<OutboxRelay>();
        services.AddSingleton<TaskQueues>();
        services.AddOptions<GroupOptions>().Bind(builder.Configuration.GetSection(GroupOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<GroupOptions>, GroupOptionsValidator>();
        services.AddSingleton<GroupGate>();
        services.AddOptions<CallbackDeliveryOptions>().Bind(builder.Configuration.GetSection(CallbackDeliveryOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CallbackSender>();
        services.AddOptions<CallbackTimerOptions>().Bind(builder.Configuration.GetSection(CallbackTimerOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.LookaheadMs >= 2 * o.PollIntervalMs, $"{CallbackTimerOptions.Section}:LookaheadMs must be at least twice PollIntervalMs")
            .ValidateOnStart();
        services.AddSingleton<CallbackTimers>();
        services.AddSingleton<Callbacks.ITimerLoop>(sp => sp.GetRequiredService<CallbackTimers>());
        services.AddSingleton<DelayedStarts>();
        services.AddTaskHubTimers(builder.Configuration);
        services.AddTaskHooks(builder.Configuration);

        services.AddTaskHubBus(x =>
        {
            // An outage of the database or the broker must not send a gate, callback, timer or hook
            // message to the error queue: it is waited out. The sagas' endpoints configure their own.
            x.AddConfigureEndpointsCallback((_, name, endpoint) =>
            {
                if (!TaskStateDefinition.IsSagaQueue(name) && name != TaskHubBus.WorkflowQueue)
                    endpoint.UseMessageRetry(TransientFaults.WaitOut);
            });
            // Its two endpoints are configured below, not by ConfigureEndpoints.
            x.AddSagaStateMachine<TaskStateMachine, TaskState, TaskStateDefinition>().EfCoreRepository<TaskState, TaskHubDbContext>();
            x.AddSagaStateMachine<WorkflowStateMachine, WorkflowState, WorkflowStateDefinition>().EfCoreRepository<WorkflowState, TaskHubDbContext>();
            x.AddConsumer<GetTaskStatusConsumer>().Endpoint(e => e.Name = "taskhub.task-status");
            x.AddConsumer<SubmitTaskOnceConsumer>().Endpoint(e => e.Name = TaskHubBus.TaskSubmitOnceQueue);
            x.AddConsumer<SubmitTaskBatchConsumer, SubmitTaskBatchConsumerDefinition>();
            x.AddConsumer<TaskHookConsumer, TaskHookConsumerDefinition>();
            x.AddCronTaskConsumers();
            x.AddConsumer<GroupGateConsumer>().Endpoint(e => e.Name = "taskhub.group-gate");
            x.AddConsumer<DeliverTaskCallbackConsumer>().Endpoint(e =>
            {
                e.Name = "taskhub.task-callback";
                e.ConcurrentMessageLimit = 64; // waits on remote URLs (one attempt each), not on CPU
            });
            x.AddConsumer<ArmCallbackConsumer>().Endpoint(e => e.Name = "taskhub.callback-arm");
            x.AddConsumer<ArmDelayedStartConsumer>().Endpoint(e => e.Name = TaskHubBus.DelayedStartArmQueue);
            x.AddConsumer<FireCallbackConsumer>().Endpoint(e =>
            {
                e.Name = "taskhub.callback-fire";
                e.ConcurrentMessageLimit = 64;
            });
        }, TaskStateDefinition.ConfigureEndpoints);

        // After the bus: hosted services stop in reverse order, so the timers stop firing (and give
        // back the fires they still hold) before the bus they publish on goes.
        services.AddHostedService(sp => sp.GetRequiredService<CallbackTimers>());
        services.AddHostedService(sp => sp.GetRequiredService<DelayedStarts>());
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        services.AddHostedService<DueCallbackDeliveries>();
        services.AddCronTasks(builder.Configuration);
        services.AddHostedService<TaskSweeper>();
        services.AddTaskHubHealthEndpoint(builder.Configuration)
            .AddCheck<Callbacks.TimerLoopHealthCheck>("timers", tags: [TaskHubHealth.Ready]);
        services.AddHostedService<Telemetry.SchedulerGauges>();

        // EF logs every failed command at Error level before its caller sees the exception; the
        // callers (MassTransit's retry and fault handling, the sweeper's loop) log what they do not handle.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Critical);
        return builder;
    }
}
