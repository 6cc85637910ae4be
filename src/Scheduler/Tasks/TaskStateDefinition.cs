using MassTransit;
using Microsoft.Extensions.Options;

namespace TaskHub.Scheduler.Tasks;

/// <summary>The task saga's endpoint: conflicting updates of one task are retried, and messages the saga sends leave only after its state is saved.</summary>
public sealed class TaskStateDefinition : SagaDefinition<TaskState>
{
    readonly SchedulerOptions _options;

    public TaskStateDefinition(IOptions<SchedulerOptions> options)
    {
        _options = options.Value;
        EndpointName = "taskhub.task-state";
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpoint, ISagaConfigurator<TaskState> saga, IRegistrationContext context)
    {
        endpoint.UseMessageRetry(r =>
        {
            r.Handle<ConcurrencyException>();
            r.Intervals(5, 10, 20, 50, 100, 100, 200, 200, 500, 500, 1000, 1000);
        });
        endpoint.UseInMemoryOutbox(context);
        endpoint.ConcurrentMessageLimit = _options.SagaConcurrency;
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = _options.SagaConcurrency * 4;
    }
}
