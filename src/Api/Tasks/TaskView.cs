using System.Text.Json;

namespace TaskHub.Api.Tasks;

/// <summary>A task as <c>GET /tasks/{id}</c> shows it; <c>status</c> is WAITING, RUNNING, SUCCESS or FAILURE.</summary>
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
    IReadOnlyList<CallbackAttemptView> CallbackAttempts);

/// <summary>One attempt to deliver the task's outcome to its callback URL.</summary>
public sealed record CallbackAttemptView(int Attempt, DateTimeOffset At, int? HttpStatus, string? Error);
