using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;

namespace TaskHub.Contracts.Transport;

/// <summary>The one place every TaskHub process (and a .NET producer) configures its bus and its options.</summary>
public static class TaskHubBus
{
    /// <summary>Binds and validates the <c>AsyncTask</c> section; a bad value stops the host at start-up.</summary>
    public static OptionsBuilder<AsyncTaskOptions> AddAsyncTaskOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<AsyncTaskOptions>, AsyncTaskOptionsValidator>();
        return services.AddOptions<AsyncTaskOptions>()
            .Bind(configuration.GetSection(AsyncTaskOptions.Section))
            .ValidateOnStart();
    }

    /// <summary>
    /// Adds MassTransit on RabbitMQ from <see cref="AsyncTaskOptions.Broker"/>. Publishing waits
    /// until the bus is started so no message goes out before its bindings exist.
    /// </summary>
    public static IServiceCollection AddTaskHubBus(this IServiceCollection services,
        Action<IBusRegistrationConfigurator> register,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? configure = null)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BusSigningOptions>, BusSigningOptionsValidator>());
        services.AddOptions<BusSigningOptions>().BindConfiguration(BusSigningOptions.Section).ValidateOnStart();
        services.TryAddSingleton<MessageSigner>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMassTransit(x =>
        {
            register(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                var options = context.GetRequiredService<IOptions<AsyncTaskOptions>>().Value;
                ConfigureHost(cfg, options.Broker);
                // Task messages are signed on the way out and checked before any consumer (ITaskMessage).
                cfg.UseSendFilter(typeof(SignTaskMessageFilter<>), context);
                cfg.UsePublishFilter(typeof(SignTaskMessageFilter<>), context);
                cfg.UseConsumeFilter(typeof(VerifyTaskMessageFilter<>), context);
                cfg.UseSendFilter(typeof(WorkPriorityFilter<>), context);
                cfg.UseConsumeFilter(typeof(TaskLogScopeFilter<>), context);
                // MassTransit indents its JSON by default: a third of every message's bytes on the broker's disk and in every parse.
                cfg.ConfigureJsonSerializerOptions(json =>
                {
                    json.WriteIndented = false;
                    return json;
                });
                configure?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return services;
    }

    public static void ConfigureHost(IRabbitMqBusFactoryConfigurator cfg, string broker)
    {
        var uri = new Uri(broker);
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        var userInfo = uri.UserInfo.Split(':', 2);
        var port = uri.IsDefaultPort || uri.Port <= 0 ? (uri.Scheme == "amqps" ? 5671 : 5672) : uri.Port;
        cfg.Host(uri.Host, (ushort)port, vhost.Length == 0 ? "/" : vhost, h =>
        {
            h.Username(userInfo.Length > 0 && userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : "guest");
            h.Password(userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "guest");
            if (uri.Scheme == "amqps")
                h.UseSsl(s => s.Protocol = System.Security.Authentication.SslProtocols.Tls12);
        });
    }

    /// <summary>The address tasks of a queue are sent to.</summary>
    public static Uri QueueAddress(string queue) => new($"queue:{queue}");

    /// <summary>The queue <paramref name="context"/>'s message came from (its address's last segment, the vhost before it).</summary>
    public static string InputQueue(this ConsumeContext context) =>
        context.ReceiveContext.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Last();

    /// <summary>The Scheduler's queue where tasks are submitted.</summary>
    public const string TaskSubmitQueue = "taskhub.task-submit";

    /// <summary>The Scheduler's queue where deduplicated submissions (<see cref="SubmitTaskOnce"/>) are answered.</summary>
    public const string TaskSubmitOnceQueue = "taskhub.task-submit-once";

    /// <summary>The Scheduler's queue where batches of submissions (<see cref="SubmitTaskBatch"/>) are recorded.</summary>
    public const string TaskSubmitBatchQueue = "taskhub.task-submit-batch";

    /// <summary>The Scheduler's queue where reports on tasks, and operators' commands for them, arrive.</summary>
    public const string TaskEventsQueue = "taskhub.task-state";

    /// <summary>
    /// Submits a task to the Scheduler. A command, so sent to its queue rather than published: one
    /// routing step less, and a submission waits in the queue even before any Scheduler has started.
    /// </summary>
    public static async Task SubmitTaskAsync(this ISendEndpointProvider endpoints, SubmitTask task, CancellationToken cancellationToken = default)
    {
        var endpoint = await endpoints.GetSendEndpoint(QueueAddress(TaskSubmitQueue));
        await endpoint.Send(task, cancellationToken);
    }

    /// <summary>Submits a batch of tasks to the Scheduler, as <see cref="SubmitTaskAsync"/> one: sent to its queue, confirmed by the broker.</summary>
    public static async Task SubmitTaskBatchAsync(this ISendEndpointProvider endpoints, SubmitTaskBatch batch, CancellationToken cancellationToken = default)
    {
        var endpoint = await endpoints.GetSendEndpoint(QueueAddress(TaskSubmitBatchQueue));
        await endpoint.Send(batch, cancellationToken);
    }

    /// <summary>Where newly delayed tasks due soon are taken into a Scheduler's memory (<c>ArmDelayedStart</c>).</summary>
    public const string DelayedStartArmQueue = "taskhub.task-start-arm";

    /// <summary>Where workflows are started, and their members' finishes and cancels arrive (the workflow saga's queue).</summary>
    public const string WorkflowQueue = "taskhub.workflow-state";

    /// <summary>A workflow's command or event (<see cref="Workflows.StartWorkflow"/>, its members' finishes, its cancel), sent to its saga.</summary>
    public static async Task SendWorkflowCommandAsync<T>(this ISendEndpointProvider endpoints, T command, CancellationToken cancellationToken = default)
        where T : class, ITaskMessage
    {
        var endpoint = await endpoints.GetSendEndpoint(QueueAddress(WorkflowQueue));
        await endpoint.Send(command, cancellationToken);
    }

    /// <summary>An operator's command for a task (<see cref="CancelTask"/>, <see cref="RetryTask"/>), sent to the saga's events queue.</summary>
    public static async Task SendTaskCommandAsync<T>(this ISendEndpointProvider endpoints, T command, CancellationToken cancellationToken = default)
        where T : class, ITaskMessage
    {
        var endpoint = await endpoints.GetSendEndpoint(QueueAddress(TaskEventsQueue));
        await endpoint.Send(command, cancellationToken);
    }
}
