using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;

namespace TaskHub.Scheduler.Tasks;

/// <summary>The task saga's endpoint: conflicting updates of one task are retried, and messages the saga sends leave only after its state is saved.</summary>
public sealed class TaskStateDefinition : SagaDefinition<TaskState>
{
    public const string QueueName = TaskHubBus.TaskStateQueue;

    readonly SchedulerOptions _options;

    public TaskStateDefinition(IOptions<SchedulerOptions> options)
    {
        _options = options.Value;
        EndpointName = QueueName;
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
        // One task's events are handled one after the other (different tasks still in parallel): a fast
        // task's TaskStarted and TaskSucceeded arrive together and would otherwise race for the same row,
        // each lost race costing an exception, a logged warning and a retry.
        var partition = endpoint.CreatePartitioner(_options.SagaConcurrency);
        saga.Message<SubmitTask>(m => m.UsePartitioner(partition, c => c.Message.TaskId));
        saga.Message<TaskStarted>(m => m.UsePartitioner(partition, c => c.Message.TaskId));
        saga.Message<TaskProgressed>(m => m.UsePartitioner(partition, c => c.Message.TaskId));
        saga.Message<TaskAttemptFailed>(m => m.UsePartitioner(partition, c => c.Message.TaskId));
        saga.Message<TaskSucceeded>(m => m.UsePartitioner(partition, c => c.Message.TaskId));
        saga.Message<TaskFailed>(m => m.UsePartitioner(partition, c => c.Message.TaskId));
        saga.Message<Fault<ExecuteTask>>(m => m.UsePartitioner(partition, c => c.Message.Message.TaskId));
        saga.Message<Fault<CallCallee>>(m => m.UsePartitioner(partition, c => c.Message.Message.TaskId));
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = _options.SagaConcurrency * 4;
    }
}
