using MassTransit;
using TaskHub.Contracts.Definitions;

namespace TaskHub.Scheduler.Hooks;

public sealed class TaskHookConsumerDefinition : ConsumerDefinition<TaskHookConsumer>
{
    public TaskHookConsumerDefinition()
    {
        EndpointName = "taskhub.task-hooks";
        ConcurrentMessageLimit = 32; // waits on remote URLs and Workers, not on CPU
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<TaskHookConsumer> consumer,
        IRegistrationContext context) =>
        // Longer in all than PredecessorWait, so a waiting hook is delivered by its last retry at the latest.
        endpoint.UseMessageRetry(r => r.Intervals(1000, 2000, 4000, 8000, 15000, 15000));
}

public static class TaskHookRegistration
{
    /// <summary>The declared task types (whose hooks the task saga raises) and the store their deliveries are recorded in.</summary>
    public static IServiceCollection AddTaskHooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTaskDefinitions(configuration);
        services.AddSingleton<TaskHookStore>();
        return services;
    }
}
