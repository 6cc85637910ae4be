namespace TaskHub.Contracts.Messages;

/// <summary>A finished task's outcome goes to its callback URL (at most once per finish).</summary>
public sealed record DeliverTaskCallback(Guid TaskId, string Url, string Body);

/// <summary>A task of a concurrency group is ready to run when the group has a free slot.</summary>
public sealed record EnqueueInGroup(Guid TaskId, string Group, int? Parallels, DateTimeOffset SubmittedAt, string Queue, ExecuteTask? Execute, CallCallee? Call);

/// <summary>A task of a group finished (or failed, or timed out): its slot is free.</summary>
public sealed record ReleaseGroupSlot(Guid TaskId, string Group);

/// <summary>A callback of <c>/callback/new</c> was recorded; the Scheduler fires it now or arms its timer.</summary>
public sealed record ArmCallback(Guid CallbackId);

/// <summary>Deliver one fire of a <c>/callback/new</c> callback (published by its timer, or at once).</summary>
public sealed record FireCallback(Guid CallbackId);

/// <summary><c>DELETE /callback/{id}</c>: stop its timer.</summary>
public sealed record CancelCallback(Guid CallbackId);
