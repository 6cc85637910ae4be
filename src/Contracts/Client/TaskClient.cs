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

    readonly IRequestClient<GetTaskStatus> status = clients.CreateRequestClient<GetTaskStatus>(RequestTimeout.After(s: 10));
    readonly IRequestClient<SubmitTaskOnce> submitOnce =
        clients.CreateRequestClient<SubmitTaskOnce>(TaskHubBus.QueueAddress(TaskHubBus.TaskSubmitOnceQueue), RequestTimeout.After(s: 30));

    public async Task<Guid> SendTaskAsync(TaskSignature signature, SendTaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signature.Name);
        var taskId = options?.TaskId ?? signature.TaskId
            ?? (options?.IdempotencyKey is { } key ? NameBasedIds.From(IdempotencyNamespace, key) : NewId.NextGuid());
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
        var ids = chain.Select((step, i) => step.TaskId ?? (i == 0 ? options?.TaskId : null) ?? NewId.NextGuid()).ToList();
        // Linked from the end: each step is the one before's last success follower, so it runs with that one's result.
        var next = chain[^1] with { TaskId = ids[^1] };
        for (var i = chain.Count - 2; i >= 0; i--)
            next = chain[i] with { TaskId = ids[i], OnSuccess = [.. chain[i].OnSuccess ?? [], next] };
        await SendTaskAsync(next, (options ?? new SendTaskOptions()) with { TaskId = ids[0] }, cancellationToken);
        return ids;
    }

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
