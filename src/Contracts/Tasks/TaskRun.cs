namespace TaskHub.Contracts.Tasks;

/// <summary>
/// A run of a task that an operator's retry closed: how it ended (in the API's words), its attempts
/// (<paramref name="FromAttempt"/> to <paramref name="Attempts"/>) and its times. Stored as JSON in <c>tasks.runs</c>.
/// </summary>
public sealed record TaskRun(string Status, int FromAttempt, int Attempts, string? Error, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);
