using System.Text.Json;

namespace TaskHub.Api.Tasks;

/// <summary>
/// A task as <c>GET /tasks/{id}</c> shows it; <c>status</c> is WAITING, RUNNING, SUCCESS, FAILURE or CANCELLED.
/// <c>runs</c> are the runs an operator's retries closed, oldest first; <c>attempts</c> counts every run's.
/// </summary>
public sealed record TaskView(
    Guid Id,
    string Name,
    string Status,
    int Current,
    int Total,
    string? Message,
    JsonElement? Response,
    string? Error,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Callee,
    string? Callback,
    string? Group,
    IReadOnlyList<CallbackAttemptView> CallbackAttempts,
    string Queue,
    JsonElement Args,
    IReadOnlyList<TaskHub.Contracts.Tasks.TaskRun> Runs);

/// <summary>One attempt to deliver the task's outcome to its callback URL.</summary>
public sealed record CallbackAttemptView(int Attempt, DateTimeOffset At, int? HttpStatus, string? Error);
