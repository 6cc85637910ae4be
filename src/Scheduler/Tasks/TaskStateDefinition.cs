using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// The task saga's two endpoints: outages are waited out, conflicting updates of one task are retried, and
/// messages the saga sends are written with its state (the outbox) and leave once that committed.
/// </summary>
public sealed class TaskStateDefinition : SagaDefinition<TaskState>
{
    /// <summary>Where tasks are submitted: only what is sent to it (<see cref="SubmitTask"/>).</summary>
    public const string SubmitQueueName = TaskHubBus.TaskSubmitQueue;

    /// <summary>
    /// Where the reports on running tasks arrive: every event the saga consumes is bound here. It keeps
    /// the name of the saga's one queue of earlier versions, so the bindings and messages already there
    /// carry over, and a submission sent there by an older client is still taken.
    /// </summary>
    public const string EventsQueueName = TaskHubBus.TaskEventsQueue;

    readonly SchedulerOptions _options;

    public TaskStateDefinition(IOptions<SchedulerOptions> options) => _options = options.Value;

    /// <summary>
    /// Reports on running tasks have a queue of their own so that they never wait behind a burst of
    /// submissions: a finished task releases its group slot, fires its callback and is shown as done
    /// while thousands of new tasks still queue. A report is then mostly taken as it arrives, which
    /// RabbitMQ hands straight to the waiting consumer; one that waits in a long queue costs the
    /// broker about twice the work.
    /// </summary>
    public static void ConfigureEndpoints(IBusRegistrationContext context, IRabbitMqBusFactoryConfigurator bus)
    {
        bus.ReceiveEndpoint(SubmitQueueName, e =>
        {
            e.ConfigureConsumeTopology = false;
            context.ConfigureSaga<TaskState>(e);
        });
        bus.ReceiveEndpoint(EventsQueueName, e => context.ConfigureSaga<TaskState>(e));
    }

    public static bool IsSagaQueue(string name) => name is SubmitQueueName or EventsQueueName;

    /// <summary>
    /// One task's events are handled one after the other (different tasks still in parallel): a fast task's TaskStarted and
    /// TaskSucceeded arrive together and would otherwise race for the same row, each lost race costing an exception, a logged
    /// warning and a retry.
    /// </summary>
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpoint, ISagaConfigurator<TaskState> saga, IRegistrationContext context) =>
        new SagaEndpoint<TaskState>(endpoint, saga, context, _options.SagaConcurrency)
            .Route<SubmitTask>(c => c.Message.TaskId)
            .Route<TaskStarted>(c => c.Message.TaskId)
            .Route<TaskProgressed>(c => c.Message.TaskId)
            .Route<TaskAttemptFailed>(c => c.Message.TaskId)
            .Route<TaskSucceeded>(c => c.Message.TaskId)
            .Route<TaskFailed>(c => c.Message.TaskId)
            .Route<Fault<ExecuteTask>>(c => c.Message.Message.TaskId)
            .Route<Fault<CallCallee>>(c => c.Message.Message.TaskId)
            .Route<CancelTask>(c => c.Message.TaskId)
            .Route<RetryTask>(c => c.Message.TaskId)
            .Route<StartDelayedTask>(c => c.Message.TaskId);
}
