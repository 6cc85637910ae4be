using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

namespace TaskHub.Contracts.Client;

/// <summary>A singleton on the bus itself, so producers can hold it anywhere.</summary>
public sealed class TaskClient(IBus bus, IClientFactory clients, TimeProvider time) : ITaskClient
{
    /// <summary>Where .NET producers' idempotency keys become task ids (the HTTP routes' keys have their own, per API key).</summary>
    static readonly Guid IdempotencyNamespace = new("7d0a4c61-92e8-4b3f-8f15-3e6b2d9c0a47");
    static readonly Guid ChainNamespace = new("a4e2d9b7-1c58-4f06-8b3a-5d7c9e01f6a2");

    readonly IRequestClient<GetTaskStatus> status = clients.CreateRequestClient<GetTaskStatus>(RequestTimeout.After(s: 10));
    readonly IRequestClient<SubmitTaskOnce> submitOnce =
        clients.CreateRequestClient<SubmitTaskOnce>(TaskHubBus.QueueAddress(TaskHubBus.TaskSubmitOnceQueue), RequestTimeout.After(s: 30));

    public async Task<Guid> SendTaskAsync(TaskSignature signature, SendTaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signature.Name);
        CheckPriorities(signature);
        var taskId = IdFor(signature, options);
        var submit = new SubmitTask(taskId, signature, options?.Queue, options?.Policy, time.GetUtcNow());
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

    public async Task<IReadOnlyList<Guid>> SendChainAsync(IEnumerable<TaskSignature> steps, SendTaskOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var chain = steps.ToList();
        if (chain.Count == 0)
            throw new ArgumentException("a chain needs at least one step", nameof(steps));
        var proposed = IdFor(chain[0], options);
        var ids = StepIds(chain, proposed);
        // Linked from the end: each step is the one before's last success follower, so it runs with that one's result.
        var next = chain[^1] with { TaskId = ids[^1] };
        for (var i = chain.Count - 2; i >= 0; i--)
            next = chain[i] with { TaskId = ids[i], OnSuccess = [.. chain[i].OnSuccess ?? [], next] };
        var first = await SendTaskAsync(next, options, cancellationToken);
        // A deduplicated send may answer an earlier chain's first step: its steps are that one's.
        return first == proposed ? ids : StepIds(chain, first);
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

    /// <summary>
    /// A chain's step ids: the first step's, then each later step's own or one made from the first and its place, so that
    /// sending a chain again with the same idempotency key makes the same ids all along it.
    /// </summary>
    static Guid[] StepIds(IReadOnlyList<TaskSignature> chain, Guid first) =>
        [first, .. chain.Skip(1).Select((step, i) => step.TaskId ?? NameBasedIds.From(ChainNamespace, $"{first:N}/{i + 1}"))];

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
