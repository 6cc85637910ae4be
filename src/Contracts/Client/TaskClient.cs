using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Contracts.Client;

/// <summary>A singleton on the bus itself, so producers can hold it anywhere.</summary>
public sealed class TaskClient(IBus bus, IClientFactory clients, TimeProvider time) : ITaskClient
{
    /// <summary>Where .NET producers' idempotency keys become task ids (the HTTP routes' keys have their own, per API key).</summary>
    static readonly Guid IdempotencyNamespace = new("7d0a4c61-92e8-4b3f-8f15-3e6b2d9c0a47");
    static readonly Guid WorkflowKeyNamespace = new("a4e2d9b7-1c58-4f06-8b3a-5d7c9e01f6a2");
    static readonly Guid BatchKeyNamespace = new("3b9f6e2a-58d1-4c07-9a4e-c1d2f70b8e35");

    readonly IRequestClient<GetTaskStatus> status = clients.CreateRequestClient<GetTaskStatus>(RequestTimeout.After(s: 10));
    readonly IRequestClient<SubmitTaskOnce> submitOnce =
        clients.CreateRequestClient<SubmitTaskOnce>(TaskHubBus.QueueAddress(TaskHubBus.TaskSubmitOnceQueue), RequestTimeout.After(s: 30));

    public async Task<Guid> SendTaskAsync(TaskSignature signature, SendTaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        var taskId = IdFor(signature, options);
        var now = time.GetUtcNow();
        var submit = Submission(signature, taskId, options, now);
        if (options?.DeduplicateFor is { } window)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero, nameof(SendTaskOptions.DeduplicateFor));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(window, SubmitTaskOnce.LongestWindow, nameof(SendTaskOptions.DeduplicateFor));
            // A timeout leaves the outcome unknown, as a lost send would: sending again within the window is safe.
            var accepted = await submitOnce.GetResponse<TaskAccepted>(new SubmitTaskOnce(submit, window), cancellationToken);
            return accepted.Message.TaskId;
        }
        await bus.SubmitTaskAsync(submit, cancellationToken);
        return taskId;
    }

    public async Task<IReadOnlyList<Guid>> SendTasksAsync(IEnumerable<TaskSignature> tasks, SendTaskOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (options?.TaskId is not null)
            throw new ArgumentException("a TaskId names one task; give a batch an idempotency key, or each signature its TaskId", nameof(options));
        if (options?.DeduplicateFor is not null)
            throw new ArgumentException("a deduplication window applies to single tasks (SendTaskAsync); give a batch an idempotency key", nameof(options));
        var now = time.GetUtcNow();
        var submits = tasks.Select((signature, index) =>
        {
            try
            {
                ArgumentNullException.ThrowIfNull(signature);
                var id = signature.TaskId ?? (options?.IdempotencyKey is { } key ? NameBasedIds.From(BatchKeyNamespace, $"{key}\n{index}") : NewId.NextGuid());
                return Submission(signature, id, options, now);
            }
            catch (ArgumentException ex)
            {
                // Which of thousands it was, with the rule it broke.
                throw new ArgumentException($"{nameof(tasks)}[{index}]: {ex.Message}", nameof(tasks), ex);
            }
        }).ToList();
        if (submits.Count == 0)
            throw new ArgumentException("a batch needs at least one task", nameof(tasks));
        // A task id is taken once: a second task with it would be dropped without a word.
        if (submits.Select(s => s.TaskId).Distinct().Count() != submits.Count)
            throw new ArgumentException("the tasks of a batch need distinct TaskIds", nameof(tasks));
        foreach (var chunk in submits.Chunk(SubmitTaskBatch.MaxTasks))
            await bus.SubmitTaskBatchAsync(new SubmitTaskBatch(NewId.NextGuid(), chunk, now), cancellationToken);
        return submits.ConvertAll(s => s.TaskId);
    }

    public Task<WorkflowSent> SendChainAsync(IEnumerable<TaskSignature> steps, SendTaskOptions? options = null,
        CancellationToken cancellationToken = default) =>
        SendWorkflowAsync(WorkflowKind.Chain, steps, null, 0, options, cancellationToken);

    public Task<WorkflowSent> SendGroupAsync(IEnumerable<TaskSignature> members, int sendConcurrency = 0, SendTaskOptions? options = null,
        CancellationToken cancellationToken = default) =>
        SendWorkflowAsync(WorkflowKind.Group, members, null, sendConcurrency, options, cancellationToken);

    public Task<WorkflowSent> SendChordAsync(IEnumerable<TaskSignature> group, TaskSignature callback, int sendConcurrency = 0,
        SendTaskOptions? options = null, CancellationToken cancellationToken = default) =>
        SendWorkflowAsync(WorkflowKind.Chord, group, callback ?? throw new ArgumentNullException(nameof(callback)), sendConcurrency, options,
            cancellationToken);

    public async Task CancelWorkflowAsync(Guid workflowId, CancellationToken cancellationToken = default) =>
        await bus.SendWorkflowCommandAsync(new CancelWorkflow(workflowId, null, time.GetUtcNow()), cancellationToken);

    /// <summary>
    /// One workflow of tasks: its id is the options' <see cref="SendTaskOptions.TaskId"/>, or made from their idempotency key, or new;
    /// its members' are made from it (a signature's own <see cref="TaskSignature.TaskId"/> wins),
    /// so a workflow sent again with its idempotency key is the same workflow and starts nothing more.
    /// </summary>
    async Task<WorkflowSent> SendWorkflowAsync(WorkflowKind kind, IEnumerable<TaskSignature> signatures, TaskSignature? callback, int sendConcurrency,
        SendTaskOptions? options, CancellationToken cancellationToken)
    {
        var tasks = signatures.ToList();
        if (tasks.Count == 0)
            throw new ArgumentException($"a {kind.ToString().ToLowerInvariant()} needs at least one task", nameof(signatures));
        ArgumentOutOfRangeException.ThrowIfNegative(sendConcurrency);
        if (options?.DeduplicateFor is not null)
            throw new ArgumentException("a deduplication window applies to single tasks; give a workflow an idempotency key", nameof(options));
        var workflowId = options?.TaskId
            ?? (options?.IdempotencyKey is { } key ? NameBasedIds.From(WorkflowKeyNamespace, key) : NewId.NextGuid());
        var now = time.GetUtcNow();
        WorkflowStep Step(TaskSignature signature, int index)
        {
            var id = signature.TaskId ?? WorkflowIds.Member(workflowId, index);
            return WorkflowStep.Of(Submission(signature with { TaskId = id }, id, options, now));
        }
        var spec = new WorkflowSpec(kind, tasks.Select(Step).ToList(), callback is null ? null : Step(callback, tasks.Count), sendConcurrency);
        if (spec.TaskCount > WorkflowSpec.MaxTasks)
            throw new ArgumentException($"a workflow holds at most {WorkflowSpec.MaxTasks} tasks", nameof(signatures));
        // A task id is taken once: a member sharing one would never report, and the workflow would wait for ever.
        if (spec.Members.Select(m => m.Id).Distinct().Count() != spec.Members.Count())
            throw new ArgumentException("the tasks of a workflow need distinct TaskIds", nameof(signatures));
        await bus.SendWorkflowCommandAsync(new StartWorkflow(workflowId, spec, now), cancellationToken);
        return new WorkflowSent(workflowId, spec.Steps.Select(s => s.Id).ToList(), spec.Callback?.Id);
    }

    /// <summary>The submission of <paramref name="signature"/> as task <paramref name="id"/>, refused before anything is sent if it breaks a rule.</summary>
    static SubmitTask Submission(TaskSignature signature, Guid id, SendTaskOptions? options, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signature.Name, nameof(TaskSignature.Name));
        CheckPriorities(signature);
        return new SubmitTask(id, StartingFrom(signature, now), options?.Queue, options?.Policy, now);
    }

    /// <summary>A <see cref="TaskSignature.Countdown"/> made the <see cref="TaskSignature.Eta"/> it comes to, sent at <paramref name="now"/>.</summary>
    static TaskSignature StartingFrom(TaskSignature signature, DateTimeOffset now)
    {
        if (signature.Countdown is not { } countdown)
            return signature;
        ArgumentOutOfRangeException.ThrowIfLessThan(countdown, TimeSpan.Zero, nameof(TaskSignature.Countdown));
        if (signature.Eta is not null)
            throw new ArgumentException("a task has an Eta or a Countdown, not both", nameof(signature));
        return signature with { Eta = now + countdown, Countdown = null };
    }

    /// <summary>Refuses a priority outside 0–9, the signature's or a follower's, before anything is sent.</summary>
    static void CheckPriorities(TaskSignature signature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(signature.Priority, nameof(TaskSignature.Priority));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(signature.Priority, TaskSignature.MaxPriority, nameof(TaskSignature.Priority));
        foreach (var follower in (signature.OnSuccess ?? []).Concat(signature.OnError ?? []))
            CheckPriorities(follower);
    }

    /// <summary>The id a send makes: the options', the signature's, one made from the idempotency key, or a new one.</summary>
    static Guid IdFor(TaskSignature signature, SendTaskOptions? options) => options?.TaskId ?? signature.TaskId
        ?? (options?.IdempotencyKey is { } key ? NameBasedIds.From(IdempotencyNamespace, key) : NewId.NextGuid());

    public async Task<TaskStatusSnapshot?> GetStatusAsync(Guid taskId, CancellationToken cancellationToken = default)
    {
        var response = await status.GetResponse<TaskStatusSnapshot, TaskNotFound>(new GetTaskStatus(taskId), cancellationToken);
        return response.Is(out Response<TaskStatusSnapshot>? found) ? found!.Message : null;
    }

    public async Task<TaskStatusSnapshot> WaitForResultAsync(Guid taskId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = time.GetUtcNow() + timeout;
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var snapshot = await GetStatusAsync(taskId, cancellationToken);
            if (snapshot is { IsFinished: true })
                return snapshot;
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"Task {taskId} did not finish within {timeout} (last status: {snapshot?.Status ?? "unknown"}).");
            await Task.Delay(pause < left ? pause : left, time, cancellationToken);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 500));
        }
    }
}

public static class TaskClientRegistration
{
    /// <summary>Registers <see cref="ITaskClient"/>; call inside <c>AddMassTransit</c> (or <c>AddTaskHubBus</c>).</summary>
    public static void AddTaskClient(this IBusRegistrationConfigurator bus)
    {
        bus.TryAddSingleton(TimeProvider.System);
        bus.TryAddSingleton<ITaskClient, TaskClient>();
    }
}
