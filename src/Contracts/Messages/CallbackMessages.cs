using TaskHub.Contracts.Transport;
namespace TaskHub.Contracts.Messages;

/// <summary>
/// A finished task's outcome goes to its callback URL: one attempt per message. <paramref name="DueAt"/>
/// is set on a retry that came due: the delivery's stored due time, which lets exactly that message
/// take the attempt.
/// </summary>
public sealed record DeliverTaskCallback(Guid TaskId, string Url, string Body, DateTimeOffset? DueAt = null, string? TraceParent = null) : ITaskMessage;

/// <summary>A task of a concurrency group is ready to run when the group has a free slot.</summary>
public sealed record EnqueueInGroup(Guid TaskId, string Group, int? Parallels, DateTimeOffset SubmittedAt, string Queue, ExecuteTask? Execute, CallCallee? Call) : ITaskMessage;

/// <summary>A task of a group finished (or failed, or timed out): its slot is free.</summary>
public sealed record ReleaseGroupSlot(Guid TaskId, string Group) : ITaskMessage;

/// <summary>
/// A callback of <c>/callback/new</c> was recorded, first due at <paramref name="DueAt"/>: a
/// Scheduler takes that fire into memory if it is due soon (later ones are found by polling).
/// </summary>
public sealed record ArmCallback(Guid CallbackId, DateTimeOffset DueAt);

/// <summary>Deliver one fire of a <c>/callback/new</c> callback (published when it is due, with the timer headers naming the due time).</summary>
public sealed record FireCallback(Guid CallbackId);

/// <summary>What a finished task's (or workflow's) callback is POSTed.</summary>
public static class CallbackBodies
{
    /// <summary>On success the result as confirmed; on failure seed 000's <c>{ok:false, error, id}</c>.</summary>
    public static string Of(Guid id, bool succeeded, string? result, string? error) => succeeded
        ? result ?? "null"
        : System.Text.Json.JsonSerializer.Serialize(new { ok = false, error, id = id.ToString() });
}
