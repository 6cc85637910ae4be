using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Execution;

namespace TaskHub.Worker.Definitions;

/// <summary>How a Worker runs declared task types: one queue per type, consumed by every Worker.</summary>
public static class TaskDefinitionWorker
{
    /// <summary>Concurrent runs of .NET hook handlers in one Worker.</summary>
    const int HookConcurrency = 16;

    public static IServiceCollection AddTaskDefinitionWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTaskDefinitions(configuration);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TaskDefinitionOptions>, DefinitionHandlersValidator>());
        return services;
    }

    public static void AddTaskDefinitionConsumers(this IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<RunTaskHookConsumer>().ExcludeFromConfigureEndpoints();

    /// <summary>
    /// Each type's queue runs at most <c>worker_nums</c> of its tasks at once in this Worker, with the
    /// attempt loop of every task (its policy travels in the message); the hook handlers' queue is
    /// consumed when some type has a .NET hook.
    /// </summary>
    public static void ConfigureTaskDefinitionEndpoints(this IRabbitMqBusFactoryConfigurator cfg, IBusRegistrationContext context)
    {
        var catalog = context.GetRequiredService<TaskDefinitionCatalog>();
        foreach (var definition in catalog.All)
        {
            var http = definition.Process.Url is null ? null : HttpProcess.RegistryFor(definition);
            cfg.ReceiveEndpoint(definition.Queue, e =>
            {
                e.ConcurrentMessageLimit = definition.WorkerNums;
                // No more prefetched than run: what this Worker cannot start yet stays for the others.
                e.PrefetchCount = definition.WorkerNums;
                e.EnablePriority(TaskSignature.MaxPriority);
                e.UseMessageRetry(r => r.Intervals(100, 500, 1000));
                if (http is null)
                    e.ConfigureConsumer<ExecuteTaskConsumer>(context);
                else
                    e.Consumer(() => ActivatorUtilities.CreateInstance<ExecuteTaskConsumer>(context, http));
            });
        }
        if (catalog.All.Any(d => d.Events.All.Any(h => !TaskHooks.IsWebhook(h.Target))))
            cfg.ReceiveEndpoint(TaskHooks.HandlerQueue, e =>
            {
                e.ConcurrentMessageLimit = HookConcurrency;
                e.ConfigureConsumer<RunTaskHookConsumer>(context);
            });
    }
}
