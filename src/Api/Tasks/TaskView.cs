using System.Text.Json;

namespace TaskHub.Api.Tasks;

/// <summary>
/// A task as <c>GET /tasks/{id}</c> shows it; <c>status</c> is WAITING, RUNNING, SUCCESS, FAILURE or CANCELLED.
/// <c>runs</c> are the runs an operator's retries closed, oldest first; <c>attempts</c> counts every run's. <c>throttled</c>
/// is set while a rate limit holds a WAITING task back.
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
    IReadOnlyList<TaskHub.Contracts.Tasks.TaskRun> Runs,
    Throttle? Throttled = null);

/// <summary>Why a WAITING task has not started: a rate limit (<c>by</c>, e.g. <c>group g0: 20/s</c>) reserved its start for <c>until</c>.</summary>
public sealed record Throttle(DateTimeOffset Until, string By);

/// <summary>One attempt to deliver the task's outcome to its callback URL.</summary>
public sealed record CallbackAttemptView(int Attempt, DateTimeOffset At, int? HttpStatus, string? Error);
