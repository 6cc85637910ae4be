using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Scheduler.Workflows;

/// <summary>
/// Running → Succeeded | Failed; an operator cancels (Running | Failed → Cancelled). A failed workflow runs on when the member
/// that failed it succeeds after all (an operator's retry of it). What starts when is <see cref="WorkflowProgress"/>'s rule;
/// the members' submissions (tasks, and nested workflows) leave through the outbox with the state that started them, so a
/// Scheduler that dies mid-way loses none and sends none twice.
/// </summary>
public sealed class WorkflowStateMachine : MassTransitStateMachine<WorkflowState>
{
    public State Running { get; private set; } = null!;
    public State Succeeded { get; private set; } = null!;
    public State Failed { get; private set; } = null!;
    public State Cancelled { get; private set; } = null!;

    public Event<StartWorkflow> Started { get; private set; } = null!;
    public Event<WorkflowMemberFinished> MemberFinished { get; private set; } = null!;
    public Event<CancelWorkflow> CancelRequested { get; private set; } = null!;

    public WorkflowStateMachine(IOptions<AsyncTaskOptions> options)
    {
        var keepResults = TimeSpan.FromSeconds(options.Value.ResultsExpireIn);
        InstanceState(x => x.CurrentState);

        Event(() => Started, e => e.CorrelateById(m => m.Message.WorkflowId));
        Event(() => MemberFinished, e => { e.CorrelateById(m => m.Message.WorkflowId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => CancelRequested, e => { e.CorrelateById(m => m.Message.WorkflowId); e.OnMissingInstance(m => m.Discard()); });

        Initially(
            When(Started)
                .Then(c =>
                {
                    var m = c.Message;
                    WorkflowProgress.New(m.Spec, m.Input).StartIn(c.Saga);
                    (c.Saga.Owner, c.Saga.CallbackUrl, c.Saga.ParentId, c.Saga.ParentIndex, c.Saga.CreatedAt) =
                        (m.Owner, m.Callback, m.ParentId, m.ParentIndex, m.SubmittedAt);
                })
                .Advance(this, keepResults, c => c.Message.SubmittedAt));

        During(Running, Failed,
            Ignore(Started),
            When(MemberFinished)
                .Then(c => Update(c.Saga, p => p.Record(c.Message.Index, c.Message.Succeeded, c.Message.Result, c.Message.Error, c.Message.At)))
                .Advance(this, keepResults, c => c.Message.At),
            When(CancelRequested)
                .Then(c =>
                {
                    c.Saga.Error = c.Message.By is null ? "cancelled" : $"cancelled by {c.Message.By}";
                    Finish(c.Saga, c.Message.At, keepResults);
                })
                .ThenAsync(async c =>
                {
                    foreach (var member in WorkflowProgress.Of(c.Saga).Unfinished)
                        if (member.Task is not null)
                            // Behind the member's submission in its queue: a cancel sent to the events queue could overtake
                            // it, find no task and be dropped.
                            await (await c.GetSendEndpoint(TaskHubBus.QueueAddress(TaskHubBus.TaskSubmitQueue)))
                                .Send(new CancelTask(member.Id, c.Message.By, c.Message.At));
                        else
                            await c.SendWorkflowCommandAsync(new CancelWorkflow(member.Id, c.Message.By, c.Message.At));
                })
                .ReportOutcome()
                .TransitionTo(Cancelled));

        During(Succeeded, Cancelled,
            Ignore(Started),
            Ignore(MemberFinished),
            Ignore(CancelRequested));
    }

    static void Update(WorkflowState workflow, Action<WorkflowProgress> change)
    {
        var progress = WorkflowProgress.Of(workflow);
        change(progress);
        progress.SaveTo(workflow);
    }

    internal static void Finish(WorkflowState workflow, DateTimeOffset at, TimeSpan keepResults) =>
        (workflow.FinishedAt, workflow.ExpiresAt) = (at, at + keepResults);
}

static class WorkflowActivities
{
    /// <summary>
    /// Starts what may start now, then settles the state: Failed when a member failed, Succeeded when the last one needed
    /// succeeded, Running otherwise. Entering Failed or Succeeded is reported to the parent workflow, if there is one.
    /// </summary>
    public static EventActivityBinder<WorkflowState, T> Advance<T>(this EventActivityBinder<WorkflowState, T> binder, WorkflowStateMachine machine,
        TimeSpan keepResults, Func<BehaviorContext<WorkflowState, T>, DateTimeOffset> at) where T : class =>
        binder
            .ThenAsync(c => StartReady(c, at(c)))
            .IfElse(c => WorkflowProgress.Of(c.Saga).Failure is not null,
                failed => failed
                    .Then(c => c.Saga.Error = WorkflowProgress.Of(c.Saga).Failure)
                    .If(c => c.Saga.CurrentState != machine.Failed.Name, entering => entering
                        .Then(c => WorkflowStateMachine.Finish(c.Saga, at(c), keepResults))
                        .ReportOutcome())
                    .TransitionTo(machine.Failed),
                other => other.IfElse(c => WorkflowProgress.Of(c.Saga).Complete,
                    done => done
                        .Then(c =>
                        {
                            (c.Saga.Result, c.Saga.Error) = (WorkflowProgress.Of(c.Saga).Result, null);
                            WorkflowStateMachine.Finish(c.Saga, at(c), keepResults);
                        })
                        .ReportOutcome()
                        .TransitionTo(machine.Succeeded),
                    running => running
                        .Then(c => (c.Saga.Error, c.Saga.FinishedAt, c.Saga.ExpiresAt) = (null, null, null))
                        .TransitionTo(machine.Running)));

    /// <summary>The outcome goes to the workflow's callback URL, if it has one, and a nested workflow's to its place in its parent, as a task's does.</summary>
    public static EventActivityBinder<WorkflowState, T> ReportOutcome<T>(this EventActivityBinder<WorkflowState, T> binder) where T : class =>
        binder.If(c => c.Saga.CallbackUrl is not null, b => b.Publish(c => new DeliverTaskCallback(c.Saga.CorrelationId, c.Saga.CallbackUrl!,
                CallbackBodies.Of(c.Saga.CorrelationId, c.Saga.Error is null, c.Saga.Result, c.Saga.Error))))
            .If(c => c.Saga.ParentId is not null, b => b.ThenAsync(c => c.SendWorkflowCommandAsync(new WorkflowMemberFinished(
                c.Saga.ParentId!.Value, c.Saga.ParentIndex, c.Saga.Error is null, c.Saga.Result, c.Saga.Error, c.Saga.FinishedAt!.Value))));

    static async Task StartReady<T>(BehaviorContext<WorkflowState, T> c, DateTimeOffset now) where T : class
    {
        var progress = WorkflowProgress.Of(c.Saga);
        var ready = progress.StartReady();
        progress.SaveTo(c.Saga);
        var workflow = c.Saga;
        foreach (var (index, step, input) in ready)
            if (step.Task is { } task)
                await c.SubmitTaskAsync(PassedResults.Into(task, input) with
                {
                    SubmittedAt = now, Owner = workflow.Owner, WorkflowId = workflow.CorrelationId, WorkflowIndex = index,
                });
            else
                await c.SendWorkflowCommandAsync(new StartWorkflow(step.Id, step.Workflow!, now, workflow.Owner, workflow.CorrelationId, index, input));
    }
}
