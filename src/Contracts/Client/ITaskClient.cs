using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Contracts.Client;

/// <summary>The .NET producer's handle on TaskHub, like gobay's <c>AsyncTask.SendTask</c>.</summary>
public interface ITaskClient
{
    /// <summary>
    /// Hands the task to the Scheduler and returns its id at once; with <see cref="SendTaskOptions.DeduplicateFor"/>, once the
    /// Scheduler has recorded it (or found the same task within the window, whose id it returns).
    /// </summary>
    Task<Guid> SendTaskAsync(TaskSignature signature, SendTaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Hands many tasks to the Scheduler at once (issue 19) and returns their ids in the order given, once the broker has them:
    /// one confirmed send per <see cref="SubmitTaskBatch.MaxTasks"/> tasks, not one per task. Every signature is checked before
    /// anything is sent (as <see cref="SendTaskAsync"/> checks one, and their ids must be distinct), so a bad one sends nothing.
    /// </summary>
    /// <param name="options">Every task's queue and policy. With <see cref="SendTaskOptions.IdempotencyKey"/> the i-th task's id is made
    /// from the key and i (a signature's own <see cref="TaskSignature.TaskId"/> wins), so a batch whose send failed half-way is simply
    /// sent again: the tasks already taken are not taken twice. <see cref="SendTaskOptions.TaskId"/> and
    /// <see cref="SendTaskOptions.DeduplicateFor"/> name or compare one task; a batch refuses them.</param>
    Task<IReadOnlyList<Guid>> SendTasksAsync(IEnumerable<TaskSignature> tasks, SendTaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends a chain (machinery's <c>SendChain</c>): each step starts when the one before succeeded, with its result first among
    /// its arguments (unless the step is <see cref="TaskSignature.Immutable"/>); a failed step stops the chain, its own
    /// <see cref="TaskSignature.OnError"/> running. The last step's result is the chain's.
    /// </summary>
    /// <param name="options">Every step's queue and policy; the workflow's id (<see cref="SendTaskOptions.TaskId"/>, or made from
    /// <see cref="SendTaskOptions.IdempotencyKey"/>: the same key is the same workflow, started once).</param>
    Task<WorkflowSent> SendChainAsync(IEnumerable<TaskSignature> steps, SendTaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends a group (machinery's <c>SendGroup</c>): its tasks run in parallel, at most <paramref name="sendConcurrency"/> at once
    /// (0: all), each starting as soon as a place is free. The group's result is its tasks' results, in order. A failed task fails
    /// the group; those not started by then are not started.
    /// </summary>
    Task<WorkflowSent> SendGroupAsync(IEnumerable<TaskSignature> members, int sendConcurrency = 0, SendTaskOptions? options = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends a chord (machinery's <c>SendChord</c>): the group, then <paramref name="callback"/> once, after every task of it
    /// succeeded, with their results in order as its first argument (a JSON array). A failed task fails the chord: the callback
    /// never runs (an operator's retry that makes the task succeed resumes it).
    /// </summary>
    Task<WorkflowSent> SendChordAsync(IEnumerable<TaskSignature> group, TaskSignature callback, int sendConcurrency = 0,
        SendTaskOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Cancels a workflow: nothing more of it starts, and its tasks still waiting or running are cancelled.</summary>
    Task CancelWorkflowAsync(Guid workflowId, CancellationToken cancellationToken = default);

    /// <summary>The task's current state, or null when it is unknown or its result has expired.</summary>
    Task<TaskStatusSnapshot?> GetStatusAsync(Guid taskId, CancellationToken cancellationToken = default);

    /// <summary>Waits until the task is SUCCESS or FAILURE; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    Task<TaskStatusSnapshot> WaitForResultAsync(Guid taskId, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>
/// Where the task goes and how it is retried; unset fields use the Worker's policy for the task name.
/// <paramref name="IdempotencyKey"/>: sending again with the same key is the same task (its id is made from the key,
/// and the Scheduler takes a task id once), so a send whose outcome is unknown can simply be repeated.
/// <paramref name="DeduplicateFor"/> (up to a day): for that long after this send, sending the same task (name, arguments
/// and queue) returns this task's id and creates nothing. The send then waits for the Scheduler's answer.
/// </summary>
public sealed record SendTaskOptions(string? Queue = null, TaskPolicy? Policy = null, Guid? TaskId = null, string? IdempotencyKey = null,
    TimeSpan? DeduplicateFor = null);

public static class TaskClientExtensions
{
    /// <summary><c>client.SendChainAsync(first, second, third)</c>.</summary>
    public static Task<WorkflowSent> SendChainAsync(this ITaskClient client, params TaskSignature[] steps) => client.SendChainAsync(steps, null);
}
