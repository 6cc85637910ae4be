using TaskHub.Contracts.Tasks;

namespace TaskHub.Contracts.Messages;

/// <summary>
/// Per-task overrides of the retry and timeout policy; null fields fall back to the
/// policy the Worker has for that task name.
/// </summary>
public sealed record TaskPolicy(int? Attempts = null, int? RetryDelayMs = null, int? TimeoutMs = null);

/// <summary>A producer hands a task to the Scheduler, which records it and queues it.</summary>
public sealed record SubmitTask(
    Guid TaskId,
    TaskSignature Signature,
    string? Queue,
    TaskPolicy? Policy,
    DateTimeOffset SubmittedAt);

/// <summary>The Scheduler asks a Worker listening on the task's queue to run it.</summary>
public sealed record ExecuteTask(
    Guid TaskId,
    TaskSignature Signature,
    TaskPolicy? Policy);

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
