using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Contracts.Messages;

/// <summary>
/// Per-task overrides of the retry and timeout policy; null fields fall back to the
/// policy the Worker has for that task name.
/// </summary>
/// <paramref name="ExponentialBackoff"/>: the delay doubles after each failed attempt (with jitter) instead of staying the same.
public sealed record TaskPolicy(int? Attempts = null, int? RetryDelayMs = null, int? TimeoutMs = null, bool? ExponentialBackoff = null);

/// <summary>
/// A producer hands a task to the Scheduler, which records it and queues it. A task with
/// <paramref name="Http"/> calls a URL instead of a .NET handler; one with a
/// <paramref name="Group"/> waits for a free slot of its concurrency group. <paramref name="Owner"/> is the
/// name of the API key that submitted it over HTTP (null from a .NET producer). A member of a workflow names it
/// (<paramref name="WorkflowId"/>) and its place there (<paramref name="WorkflowIndex"/>), which its finish is reported to.
/// </summary>
public sealed record SubmitTask(
    Guid TaskId,
    TaskSignature Signature,
    string? Queue,
    TaskPolicy? Policy,
    DateTimeOffset SubmittedAt,
    HttpTask? Http = null,
    string? Group = null,
    int? Parallels = null,
    string? Owner = null,
    string? GroupRate = null,
    Guid? WorkflowId = null,
    int WorkflowIndex = 0) : ITaskMessage;

/// <summary>
/// Request/response: submit <paramref name="Task"/> unless the same task (name, arguments and queue) was submitted
/// within the last <paramref name="Window"/>; answered by <see cref="TaskAccepted"/> once the submission is durable.
/// </summary>
public sealed record SubmitTaskOnce(SubmitTask Task, TimeSpan Window) : ITaskMessage
{
    /// <summary>The longest deduplication window: a day.</summary>
    public static readonly TimeSpan LongestWindow = TimeSpan.FromDays(1);

    public Guid TaskId => Task.TaskId;
}

/// <summary>
/// Up to <see cref="MaxTasks"/> submissions in one message (issue 19), sent to their own queue
/// (<see cref="TaskHubBus.TaskSubmitBatchQueue"/>): the Scheduler writes them all in one transaction (the outbox) and then hands
/// each to the task saga as the <see cref="SubmitTask"/> it is, so a producer pays one confirmed send per batch and the Scheduler
/// one commit. <paramref name="BatchId"/> names the batch in logs and is what its signature is reported under.
/// </summary>
public sealed record SubmitTaskBatch(Guid BatchId, IReadOnlyList<SubmitTask> Tasks, DateTimeOffset At) : ITaskMessage
{
    /// <summary>The most tasks one batch carries (a message of about a megabyte at most: 1,000 HTTP tasks with their confirm URLs).</summary>
    public const int MaxTasks = 1000;

    Guid ITaskMessage.TaskId => BatchId;
}

/// <summary>A delayed task (<see cref="TaskSignature.Eta"/>) was recorded, due at <paramref name="DueAt"/>: a Scheduler takes it into memory if it is due soon.</summary>
public sealed record ArmDelayedStart(Guid TaskId, DateTimeOffset DueAt) : ITaskMessage;

/// <summary>A delayed task's start is due: its saga sends the work, once (a repeat finds it no longer delayed).</summary>
public sealed record StartDelayedTask(Guid TaskId, DateTimeOffset DueAt) : ITaskMessage;

/// <summary>The answer to <see cref="SubmitTaskOnce"/>: the task's id, which is an earlier submission's when <paramref name="Duplicate"/>.</summary>
public sealed record TaskAccepted(Guid TaskId, bool Duplicate);

/// <summary>
/// A task done by an HTTP callee (seed 000): <paramref name="Callee"/> is POSTed the payload with
/// <c>?id=&lt;task id&gt;&amp;callback=&lt;completion URL&gt;</c>; the task succeeds when someone POSTs its
/// result to <paramref name="CompletionUrl"/> (or a poll says done), and the result is POSTed to
/// <paramref name="Callback"/> when given.
/// </summary>
public sealed record HttpTask(string Callee, string? Callback, string Payload, string CompletionUrl);

/// <summary>
/// The Scheduler asks a Worker listening on the task's queue to run it, from attempt <paramref name="Attempt"/>
/// (later than 1 when a failed attempt's long wait was stored and this is the next one). <paramref name="Postponed"/>:
/// how many of the attempts before it the handler postponed (<c>RetryLaterException</c>); they use none of the policy's.
/// </summary>
public sealed record ExecuteTask(
    Guid TaskId,
    TaskSignature Signature,
    TaskPolicy? Policy,
    int Attempt = 1,
    StartRate? Rate = null,
    int Postponed = 0) : IWorkMessage;

/// <summary>
/// The Scheduler asks a Worker to call an HTTP task's callee (its timeout bounds the wait for confirmation); <paramref name="Attempt"/> as for
/// <see cref="ExecuteTask"/>; <paramref name="Priority"/> as a signature's (<see cref="TaskSignature.Priority"/>).
/// </summary>
public sealed record CallCallee(Guid TaskId, HttpTask Http, TaskPolicy? Policy, int Attempt = 1, StartRate? Rate = null, int Priority = 0) : IWorkMessage;

/// <summary>What a Worker runs: an attempt of a task, whose start may be rate-limited.</summary>
public interface IWorkMessage : ITaskMessage
{
    int Attempt { get; }
    StartRate? Rate { get; }

    /// <summary>The RabbitMQ priority every send of this work carries (0–9, <see cref="TaskSignature.Priority"/>).</summary>
    static int PriorityOf(IWorkMessage work) => work switch
    {
        ExecuteTask execute => execute.Signature?.Priority ?? 0, // null in a broken message: it fails at the Worker, not here
        CallCallee call => call.Priority,
        _ => 0,
    };
}

/// <summary>
/// What a work message's start counts against beyond what the Worker knows itself (its task name's and its callee host's
/// limits): its group's rate, resolved by the Scheduler (<c>Groups:RateLimits</c>, else the request's <c>rate</c>); and,
/// once a Worker reserved a later start for it, that start (<paramref name="ReservedFor"/>), so it runs when it comes back.
/// </summary>
public sealed record StartRate(string? Group, string? GroupRate, DateTimeOffset? ReservedFor = null)
{
    /// <summary><paramref name="rate"/> with the start a Worker reserved.</summary>
    public static StartRate Reserved(StartRate? rate, DateTimeOffset at) => (rate ?? new StartRate(null, null)) with { ReservedFor = at };
}

/// <summary>Request/response: the current state of a task, or <see cref="TaskNotFound"/>.</summary>
public sealed record GetTaskStatus(Guid TaskId);

public sealed record TaskNotFound(Guid TaskId);

public sealed record TaskStatusSnapshot(
    Guid TaskId,
    string Name,
    string Status,
    int Current,
    int Total,
    string? Message,
    string? Response,
    string? Error,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt)
{
    public bool IsFinished => TaskStatuses.IsFinished(Status);
}
