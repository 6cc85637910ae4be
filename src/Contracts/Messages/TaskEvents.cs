using TaskHub.Contracts.Transport;
namespace TaskHub.Contracts.Messages;

/// <summary>A Worker began an attempt. <paramref name="Deadline"/> bounds every remaining attempt, so a lost Worker cannot leave the task running forever.</summary>
public sealed record TaskStarted(Guid TaskId, int Attempt, DateTimeOffset StartedAt, DateTimeOffset Deadline) : ITaskMessage;

public sealed record TaskProgressed(Guid TaskId, int Current, int Total, string? Message, DateTimeOffset At) : ITaskMessage;

/// <summary>
/// One attempt failed and another follows after the retry delay. <paramref name="RetryAt"/> is set when that
/// wait is stored rather than held by the Worker: until the next attempt starts no Worker answers for the
/// task, so no deadline runs (the stored message is sure to be sent).
/// </summary>
public sealed record TaskAttemptFailed(Guid TaskId, int Attempt, string Error, DateTimeOffset At, DateTimeOffset? RetryAt = null) : ITaskMessage;

/// <summary>
/// A Worker holds attempt <paramref name="Attempt"/> back until <paramref name="Until"/>, the start it reserved under a rate limit
/// (<paramref name="By"/>, e.g. <c>group g0: 20/s</c>); the work is stored until then. The task stays WAITING, with the reason.
/// </summary>
public sealed record TaskThrottled(Guid TaskId, int Attempt, DateTimeOffset Until, string By) : ITaskMessage;

/// <summary><paramref name="Response"/> is the handler's result as JSON.</summary>
/// <paramref name="StartedAt"/> is set when the Worker did not report <see cref="TaskStarted"/> (the attempt was over at once).
public sealed record TaskSucceeded(Guid TaskId, int Attempt, string? Response, DateTimeOffset FinishedAt, DateTimeOffset? StartedAt = null) : ITaskMessage;

public sealed record TaskFailed(Guid TaskId, int Attempts, string Error, DateTimeOffset FinishedAt) : ITaskMessage;
