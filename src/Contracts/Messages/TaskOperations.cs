using TaskHub.Contracts.Transport;

namespace TaskHub.Contracts.Messages;

/// <summary>
/// An operator stops a task: a waiting one never starts (its group place is freed), a running one's
/// handler is cancelled; whatever it reports later is ignored. <paramref name="By"/> names the API key.
/// </summary>
public sealed record CancelTask(Guid TaskId, string? By, DateTimeOffset At) : ITaskMessage;

/// <summary>An operator runs a failed or cancelled task again: one more attempt under the same id, its earlier runs kept.</summary>
public sealed record RetryTask(Guid TaskId, string? By, DateTimeOffset At) : ITaskMessage;

/// <summary>
/// A task was cancelled: every Worker stops its run of it, if it has one, and drops a work message of the
/// cancelled run (attempts <paramref name="FromAttempt"/> to <paramref name="ToAttempt"/>) if one comes. A retry's run starts after them.
/// </summary>
public sealed record TaskCancelled(Guid TaskId, DateTimeOffset At, int FromAttempt = 1, int ToAttempt = int.MaxValue) : ITaskMessage;
