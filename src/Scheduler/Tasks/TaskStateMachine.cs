using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Workflows;
using TaskHub.Hosting.Telemetry;
using TaskHub.Scheduler.Groups;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Waiting → Running → Succeeded | Failed; an operator cancels (Waiting | Running → Cancelled) and retries
/// (Failed | Cancelled → Waiting, a new run from the next attempt). Events may arrive twice (at-least-once delivery)
/// or out of order (the saga endpoint consumes concurrently); every transition is therefore
/// idempotent and a finished task ignores whatever still comes.
/// </summary>
public sealed class TaskStateMachine : MassTransitStateMachine<TaskState>
{
    readonly TaskHubMetrics? _metrics;
    readonly IOptionsMonitor<GroupOptions>? _groups;

    /// <summary>A task whose <see cref="TaskSignature.Eta"/> lies ahead: no work is sent until <see cref="DelayedStarts"/> fires.</summary>
    public State Delayed { get; private set; } = null!;
    public State Waiting { get; private set; } = null!;
    public State Running { get; private set; } = null!;
    public State Succeeded { get; private set; } = null!;
    public State Failed { get; private set; } = null!;
    public State Cancelled { get; private set; } = null!;

    public Event<SubmitTask> Submitted { get; private set; } = null!;
    public Event<TaskStarted> Started { get; private set; } = null!;
    public Event<TaskProgressed> Progressed { get; private set; } = null!;
    public Event<TaskAttemptFailed> AttemptFailed { get; private set; } = null!;
    public Event<TaskSucceeded> Completed { get; private set; } = null!;
    public Event<TaskFailed> Faulted { get; private set; } = null!;
    /// <summary>The Worker could not even process the message (poison): the task fails instead of hanging.</summary>
    public Event<Fault<ExecuteTask>> ExecutionFaulted { get; private set; } = null!;
    public Event<Fault<CallCallee>> CallFaulted { get; private set; } = null!;
    public Event<CancelTask> CancelRequested { get; private set; } = null!;
    public Event<RetryTask> RetryRequested { get; private set; } = null!;
    public Event<TaskThrottled> Throttled { get; private set; } = null!;
    public Event<StartDelayedTask> StartDue { get; private set; } = null!;

    /// <param name="definitions">The declared task types whose hooks the saga raises; none where no catalog is registered.</param>
    /// <param name="metrics">Counts submissions and outcomes once each transition is committed; none in unit tests.</param>
    public TaskStateMachine(IOptions<AsyncTaskOptions> options, TaskDefinitionCatalog? definitions = null, TaskHubMetrics? metrics = null,
        IOptionsMonitor<GroupOptions>? groups = null)
    {
        _metrics = metrics;
        _groups = groups;
        var settings = options.Value;
        var keepResults = TimeSpan.FromSeconds(settings.ResultsExpireIn);

        InstanceState(x => x.CurrentState);

        Event(() => Submitted, e => e.CorrelateById(m => m.Message.TaskId));
        Event(() => Started, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Progressed, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => AttemptFailed, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Completed, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Faulted, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => ExecutionFaulted, e => { e.CorrelateById(m => m.Message.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => CallFaulted, e => { e.CorrelateById(m => m.Message.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => CancelRequested, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => RetryRequested, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Throttled, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => StartDue, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });

        Initially(
            When(Submitted)
                .Then(c =>
                {
                    var m = c.Message;
                    c.Saga.Name = m.Signature.Name;
                    c.Saga.Args = JsonSerializer.Serialize(m.Signature.Args);
                    c.Saga.Queue = m.Http is not null ? settings.HttpQueue
                        : string.IsNullOrWhiteSpace(m.Queue) ? settings.DefaultQueue : m.Queue;
                    c.Saga.Priority = (short)m.Signature.Priority;
                    c.Saga.Callee = m.Http?.Callee;
                    c.Saga.CallbackUrl = m.Http?.Callback;
                    c.Saga.GroupName = m.Group;
                    c.Saga.GroupRate = m.GroupRate;
                    c.Saga.Owner = m.Owner;
                    c.Saga.TraceParent = System.Diagnostics.Activity.Current?.Id;
                    c.Saga.CreatedAt = m.SubmittedAt;
                    c.Saga.Policy = m.Policy is null ? null : JsonSerializer.Serialize(m.Policy);
                    c.Saga.Http = m.Http is null ? null : JsonSerializer.Serialize(m.Http);
                    c.Saga.OnSuccess = Followers.Store(m.Signature.OnSuccess);
                    c.Saga.OnError = Followers.Store(m.Signature.OnError);
                    (c.Saga.WorkflowId, c.Saga.WorkflowIndex) = (m.WorkflowId, m.WorkflowIndex);
                })
                .IfElse(c => StorableTask.Refusal(c.Saga, c.Message) is null,
                    accepted => accepted
                        .Then(CountSubmitted)
                        .IfElse(c => c.Message.Signature.Eta > c.Message.SubmittedAt,
                            // Stored as a due time, the durable timer: nothing waits in memory or in a queue meanwhile.
                            delayed => delayed
                                .Then(c => c.Saga.StartAt = c.Message.Signature.Eta)
                                .TransitionTo(Delayed)
                                .Send(c => TaskHubBus.QueueAddress(TaskHubBus.DelayedStartArmQueue), c => new ArmDelayedStart(c.Saga.CorrelationId, c.Saga.StartAt!.Value)),
                            now => now
                                .ThenAsync(c => DispatchAsync(c, c.Message.SubmittedAt, c.Message.Parallels, ExecuteFor(c.Message), CallFor(c.Message)))
                                .TransitionTo(Waiting))
                        .RaiseAddHook(definitions),
                    // Kept as a failure the producer can read, instead of an insert that fails on every redelivery.
                    refused => refused
                        .Then(c =>
                        {
                            StorableTask.Refuse(c.Saga, StorableTask.Refusal(c.Saga, c.Message)!);
                            Finish(c.Saga, c.Message.SubmittedAt, keepResults);
                            Count(c, TaskHubMetrics.Failure);
                        })
                        .TransitionTo(Failed)
                        .AnnounceFinish()));

        During(Delayed, Waiting, Running,
            Ignore(Submitted),
            // A report of an attempt an operator's retry left behind (a cancelled run's handler finishing late).
            Ignore(Started, c => Stale(c.Saga, c.Message.Attempt)),
            Ignore(AttemptFailed, c => Stale(c.Saga, c.Message.Attempt)),
            Ignore(Completed, c => Stale(c.Saga, c.Message.Attempt)),
            Ignore(Faulted, c => Stale(c.Saga, c.Message.Attempts)),
            Ignore(ExecutionFaulted, c => Stale(c.Saga, c.Message.Message.Attempt)),
            Ignore(CallFaulted, c => Stale(c.Saga, c.Message.Message.Attempt)),
            Ignore(RetryRequested),
            When(CancelRequested)
                .Then(c =>
                {
                    c.Saga.Error = StorableText.Clean(c.Message.By is null ? "cancelled" : $"cancelled by {c.Message.By}");
                    Finish(c.Saga, c.Message.At, keepResults);
                    Count(c, TaskHubMetrics.Cancelled);
                })
                .TransitionTo(Cancelled)
                // Every Worker stops its run, or drops the work message when it comes.
                .Publish(c => new TaskCancelled(c.Saga.CorrelationId, c.Message.At, c.Saga.RunFrom, Math.Max(c.Saga.Attempts, c.Saga.RunFrom)))
                .AnnounceFinish()
                .RaiseFinishHook(definitions),
            // A Worker holds the attempt back under a rate limit: the task says until when, and why.
            When(Throttled, c => !Stale(c.Saga, c.Message.Attempt) && c.Message.Attempt > c.Saga.Attempts)
                .Then(c => (c.Saga.ThrottledUntil, c.Saga.ThrottledBy) = (c.Message.Until, StorableText.Clean(c.Message.By))),
            Ignore(Throttled, c => Stale(c.Saga, c.Message.Attempt) || c.Message.Attempt <= c.Saga.Attempts),
            When(Started, c => !Stale(c.Saga, c.Message.Attempt))
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempt);
                    c.Saga.StartedAt ??= c.Message.StartedAt;
                    c.Saga.Deadline = c.Message.Deadline;
                    (c.Saga.ThrottledUntil, c.Saga.ThrottledBy) = (null, null);
                })
                .TransitionTo(Running),
            // A report from the work itself proves it started, even before (or without) TaskStarted:
            // the Worker announces only attempts that outlast Worker:StartedReportDelayMs.
            When(Progressed).RaiseProgressHook(definitions)
                .Then(c =>
                {
                    RecordProgress(c.Saga, c.Message);
                    c.Saga.StartedAt ??= c.Message.At;
                })
                .TransitionTo(Running),
            When(AttemptFailed, c => !Stale(c.Saga, c.Message.Attempt))
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempt);
                    c.Saga.Error = StorableText.Clean(c.Message.Error);
                    c.Saga.StartedAt ??= c.Message.At;
                    // A stored wait may end behind a long queue: the next attempt's TaskStarted sets the next deadline.
                    if (c.Message.RetryAt is not null && c.Message.Attempt >= c.Saga.Attempts)
                        c.Saga.Deadline = null;
                })
                .TransitionTo(Running),
            When(Completed, c => !Stale(c.Saga, c.Message.Attempt))
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempt);
                    c.Saga.StartedAt ??= c.Message.StartedAt;
                    Finish(c.Saga, c.Message.FinishedAt, keepResults);
                })
                .IfElse(c => StorableTask.ResponseRefusal(c.Message.Response) is null,
                    stored => stored
                        .Then(c =>
                        {
                            c.Saga.Response = c.Message.Response;
                            c.Saga.Error = null;
                            Count(c, TaskHubMetrics.Success);
                        })
                        .TransitionTo(Succeeded),
                    // A result the table cannot hold: the task fails saying why, rather than staying Running for ever.
                    refused => refused
                        .Then(c =>
                        {
                            c.Saga.Error = $"result not stored: {StorableTask.ResponseRefusal(c.Message.Response)}";
                            Count(c, TaskHubMetrics.Failure);
                        })
                        .TransitionTo(Failed))
                .AnnounceFinish()
                .RaiseFinishHook(definitions),
            When(Faulted, c => !Stale(c.Saga, c.Message.Attempts))
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempts);
                    c.Saga.Error = StorableText.Clean(c.Message.Error);
                    Finish(c.Saga, c.Message.FinishedAt, keepResults);
                    Count(c, TaskHubMetrics.Failure);
                })
                .TransitionTo(Failed)
                .AnnounceFinish()
                .RaiseFinishHook(definitions),
            When(ExecutionFaulted, c => !Stale(c.Saga, c.Message.Message.Attempt))
                .Then(c => FailUnprocessable(c.Saga, c.Message, keepResults))
                .Then(c => Count(c, TaskHubMetrics.Failure))
                .TransitionTo(Failed)
                .AnnounceFinish()
                .RaiseFinishHook(definitions),
            When(CallFaulted, c => !Stale(c.Saga, c.Message.Message.Attempt))
                .Then(c => FailUnprocessable(c.Saga, c.Message, keepResults))
                .Then(c => Count(c, TaskHubMetrics.Failure))
                .TransitionTo(Failed)
                .AnnounceFinish()
                .RaiseFinishHook(definitions));

        During(Failed, Cancelled,
            When(RetryRequested)
                .Then(c => StartNextRun(c.Saga))
                .Then(c => c.Saga.StartAt = null)
                .Dispatch(this, c => c.Message.At)
                .TransitionTo(Waiting));

        During(Delayed,
            Ignore(Submitted),
            When(StartDue)
                .Dispatch(this, c => c.Message.DueAt)
                .TransitionTo(Waiting));

        // A delayed start taken twice (a lapsed lease) finds the task started already.
        During(Waiting, Running,
            Ignore(StartDue));

        During(Succeeded,
            Ignore(RetryRequested));

        During(Succeeded, Failed, Cancelled,
            Ignore(StartDue),
            Ignore(CancelRequested),
            // A report made before the finish may be consumed after it: it is recorded, the state stays.
            When(Progressed, c => c.Message.At <= c.Saga.FinishedAt).Then(c => RecordProgress(c.Saga, c.Message)),
            Ignore(Progressed, c => c.Message.At > c.Saga.FinishedAt),
            Ignore(Submitted),
            Ignore(Started),
            Ignore(AttemptFailed),
            Ignore(Completed),
            Ignore(Faulted),
            Ignore(ExecutionFaulted),
            Ignore(CallFaulted),
            Ignore(Throttled));
    }

    void CountSubmitted(BehaviorContext<TaskState, SubmitTask> c)
    {
        var (name, queue) = (c.Saga.Name, c.Saga.Queue);
        AfterCommit(c, () => _metrics?.Submitted(name, queue));
    }

    /// <summary>The finished task's outcome, counted once its row is committed.</summary>
    void Count<T>(BehaviorContext<TaskState, T> c, string outcome) where T : class
    {
        var (name, queue, created, started, finished) = (c.Saga.Name, c.Saga.Queue, c.Saga.CreatedAt, c.Saga.StartedAt, c.Saga.FinishedAt!.Value);
        AfterCommit(c, () => _metrics?.Finished(name, queue, outcome, created, started, finished));
    }

    static void AfterCommit<T>(BehaviorContext<TaskState, T> c, Action action) where T : class
    {
        if (c.TryGetPayload<IStagingContext>(out var staging))
            staging.Staged.AfterCommit(action);
        else
            action();
    }

    /// <summary>An event of an attempt before the current run (attempt 0: a report that names none, never stale).</summary>
    static bool Stale(TaskState task, int attempt) => attempt > 0 && attempt < task.RunFrom;

    /// <summary>A retry closes the run that ended (kept in <see cref="TaskState.Runs"/>) and starts one more attempt.</summary>
    static void StartNextRun(TaskState task)
    {
        var runs = task.Runs is null ? [] : JsonSerializer.Deserialize<List<TaskRun>>(task.Runs)!;
        runs.Add(new TaskRun(TaskStatuses.FromSagaState(task.CurrentState), task.RunFrom, task.Attempts, task.Error, task.StartedAt, task.FinishedAt));
        task.Runs = JsonSerializer.Serialize(runs);
        // Past every attempt the closed run had or was sent with, so no message of it is taken for the new run.
        task.RunFrom = Math.Max(task.Attempts, task.RunFrom) + 1;
        task.Error = null;
        task.Response = null;
        task.StartedAt = null;
        task.FinishedAt = null;
        task.ExpiresAt = null;
        task.Deadline = null;
        task.Current = task.Total = 0;
        task.Message = null;
        task.ProgressAt = null;
    }

    /// <summary>
    /// Sends a run's work (<paramref name="call"/> for an HTTP task, else <paramref name="execute"/>): through its group's gate,
    /// which sends it when a slot is free, in submission order; or to its queue.
    /// </summary>
    async Task DispatchAsync<T>(BehaviorContext<TaskState, T> c, DateTimeOffset at, int? parallels, ExecuteTask? execute, CallCallee? call)
        where T : class
    {
        var task = c.Saga;
        if (task.GroupName is not null)
            await c.Publish(new EnqueueInGroup(task.CorrelationId, task.GroupName, parallels, at, task.Queue, execute, call));
        else if (call is not null)
            await (await c.GetSendEndpoint(TaskHubBus.QueueAddress(task.Queue))).Send(call);
        else
            await (await c.GetSendEndpoint(TaskHubBus.QueueAddress(task.Queue))).Send(execute!);
    }

    /// <summary>Sends the work of the task's current run as its row holds it (a retry's, a delayed start's).</summary>
    internal Task DispatchCurrentRunAsync<T>(BehaviorContext<TaskState, T> c, DateTimeOffset at) where T : class =>
        DispatchAsync(c, at, null, ExecuteFor(c.Saga), CallFor(c.Saga));

    ExecuteTask? ExecuteFor(TaskState task) => task.Http is null
        ? new ExecuteTask(task.CorrelationId, new TaskSignature(task.Name, JsonSerializer.Deserialize<TaskArg[]>(task.Args)!) { Priority = task.Priority },
            PolicyOf(task), task.RunFrom, RateOf(task.GroupName, task.GroupRate))
        : null;

    CallCallee? CallFor(TaskState task) => task.Http is null
        ? null
        : new CallCallee(task.CorrelationId, JsonSerializer.Deserialize<HttpTask>(task.Http)!, PolicyOf(task), task.RunFrom, RateOf(task.GroupName, task.GroupRate),
            task.Priority);

    static TaskPolicy? PolicyOf(TaskState task) => task.Policy is null ? null : JsonSerializer.Deserialize<TaskPolicy>(task.Policy);

    ExecuteTask? ExecuteFor(SubmitTask m) => m.Http is null ? new ExecuteTask(m.TaskId, m.Signature, m.Policy, Rate: RateOf(m.Group, m.GroupRate)) : null;

    CallCallee? CallFor(SubmitTask m) => m.Http is null ? null
        : new CallCallee(m.TaskId, m.Http, m.Policy, Rate: RateOf(m.Group, m.GroupRate), Priority: m.Signature.Priority);

    /// <summary>The group's rate, if it has one: <c>Groups:RateLimits</c> overrides the request's, as <c>Groups:Limits</c> does its parallels.</summary>
    StartRate? RateOf(string? group, string? requested) =>
        group is null ? null
        : (_groups?.CurrentValue.RateLimits.GetValueOrDefault(group) ?? requested) is { } rate ? new StartRate(group, rate)
        : null;

    static void FailUnprocessable<T>(TaskState task, Fault<T> fault, TimeSpan keepResults)
    {
        var reason = fault.Exceptions.FirstOrDefault();
        task.Error = StorableText.Clean($"worker could not process the task: {reason?.ExceptionType}: {reason?.Message}");
        Finish(task, fault.Timestamp, keepResults);
    }

    /// <summary>Progress events may overtake each other; the newest report wins.</summary>
    static void RecordProgress(TaskState task, TaskProgressed progress)
    {
        if (task.ProgressAt is not null && progress.At < task.ProgressAt)
            return;
        task.Current = progress.Current;
        task.Total = progress.Total;
        task.Message = StorableText.Clean(progress.Message);
        task.ProgressAt = progress.At;
    }

    static void Finish(TaskState task, DateTimeOffset at, TimeSpan keepResults)
    {
        (task.ThrottledUntil, task.ThrottledBy) = (null, null);
        task.StartedAt ??= at;
        task.FinishedAt = at;
        task.Deadline = null;
        task.ExpiresAt = at + keepResults;
    }
}

static class TaskFinishActivities
{
    /// <summary>Sends the work of the task's current run (a retry's, a delayed start's): <see cref="TaskStateMachine.DispatchCurrentRunAsync"/>.</summary>
    public static EventActivityBinder<TaskState, T> Dispatch<T>(this EventActivityBinder<TaskState, T> binder, TaskStateMachine machine,
        Func<BehaviorContext<TaskState, T>, DateTimeOffset> at) where T : class =>
        binder.ThenAsync(c => machine.DispatchCurrentRunAsync(c, at(c)));

    /// <summary>
    /// What follows a finish, once (a finished task ignores repeated events): the outcome goes to the callback, the group slot
    /// is freed, the followers (<see cref="Followers"/>) are submitted, the workflow the task is a member of is told.
    /// </summary>
    public static EventActivityBinder<TaskState, T> AnnounceFinish<T>(this EventActivityBinder<TaskState, T> binder) where T : class =>
        binder
            .If(c => c.Saga.CallbackUrl is not null,
                b => b.Publish(c => new DeliverTaskCallback(c.Saga.CorrelationId, c.Saga.CallbackUrl!, CallbackBody(c.Saga),
                    TraceParent: c.Saga.TraceParent)))
            .If(c => c.Saga.GroupName is not null,
                b => b.Publish(c => new ReleaseGroupSlot(c.Saga.CorrelationId, c.Saga.GroupName!)))
            .If(c => Followers.Any(c.Saga), b => b.ThenAsync(async c =>
            {
                foreach (var follower in Followers.Of(c.Saga))
                    await c.SubmitTaskAsync(follower);
            }))
            .If(c => c.Saga.WorkflowId is not null, b => b.ThenAsync(c => c.SendWorkflowCommandAsync(new WorkflowMemberFinished(
                c.Saga.WorkflowId!.Value, c.Saga.WorkflowIndex, c.Saga.CurrentState == "Succeeded", c.Saga.Response, c.Saga.Error,
                c.Saga.FinishedAt!.Value))));

    static string CallbackBody(TaskState task) =>
        CallbackBodies.Of(task.CorrelationId, task.CurrentState == "Succeeded" || task.Error is null, task.Response, task.Error);
}
