using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Workflows;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Workflows;

/// <summary>
/// The workflow saga's one endpoint, configured as the task saga's: outages are waited out, one workflow's events are
/// handled one after the other (a group's members finish together), and what a transition sends goes through the outbox.
/// </summary>
public sealed class WorkflowStateDefinition : SagaDefinition<WorkflowState>
{
    readonly SchedulerOptions _options;

    public WorkflowStateDefinition(IOptions<SchedulerOptions> options)
    {
        _options = options.Value;
        EndpointName = TaskHubBus.WorkflowQueue;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpoint, ISagaConfigurator<WorkflowState> saga, IRegistrationContext context)
    {
        // Everything is sent to this queue: no exchange bindings for published types.
        endpoint.ConfigureConsumeTopology = false;
        new SagaEndpoint<WorkflowState>(endpoint, saga, context, _options.SagaConcurrency)
            .Route<StartWorkflow>(c => c.Message.WorkflowId)
            .Route<WorkflowMemberFinished>(c => c.Message.WorkflowId)
            .Route<CancelWorkflow>(c => c.Message.WorkflowId);
    }
}
