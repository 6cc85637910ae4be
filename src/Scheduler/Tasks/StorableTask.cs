using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// A submission or a result the task table cannot hold (see <see cref="StorableText"/>) would fail its
/// insert on every redelivery and end in the error queue, the task never seen. The Api refuses such input
/// at the edge; what still arrives (a .NET producer, a handler's result) fails the task with the reason.
/// </summary>
static class StorableTask
{
    /// <summary>Why the submission recorded in <paramref name="task"/> cannot be kept, or null.</summary>
    public static string? Refusal(TaskState task, SubmitTask submitted) =>
        (submitted.Signature.Priority is < 0 or > TaskSignature.MaxPriority ? $"priority must be 0 to {TaskSignature.MaxPriority} (was {submitted.Signature.Priority})" : null)
        ?? Field("name", StorableText.Refusal(task.Name))
        ?? Field("queue", StorableText.Refusal(task.Queue))
        ?? Field("group", StorableText.Refusal(task.GroupName))
        ?? Field("callee", StorableText.Refusal(task.Callee))
        ?? Field("callback", StorableText.Refusal(task.CallbackUrl))
        ?? Json("args", task.Args)
        ?? Json("onSuccess", task.OnSuccess)
        ?? Json("onError", task.OnError)
        ?? Json("payload", submitted.Http?.Payload);

    /// <summary>Keeps what can be kept of a refused submission: it runs nowhere, calls back nowhere it cannot name.</summary>
    public static void Refuse(TaskState task, string reason)
    {
        task.Name = StorableText.Clean(task.Name)!;
        task.Queue = StorableText.Clean(task.Queue)!;
        task.GroupName = null;
        task.Priority = (short)Math.Clamp((int)task.Priority, 0, TaskSignature.MaxPriority);
        task.Callee = StorableText.Clean(task.Callee);
        if (StorableText.Refusal(task.CallbackUrl) is not null)
            task.CallbackUrl = null;
        if (StorableText.RefusalInJson(task.Args) is not null)
            task.Args = "[]";
        if (StorableText.RefusalInJson(task.OnSuccess) is not null)
            task.OnSuccess = null;
        if (StorableText.RefusalInJson(task.OnError) is not null)
            task.OnError = null;
        task.Error = $"not accepted: {reason}";
    }

    public static string? ResponseRefusal(string? response) => Json("response", response);

    static string? Field(string name, string? reason) => reason is null ? null : $"{name} {reason}";

    static string? Json(string name, string? json) =>
        StorableText.RefusalInJson(json) is { } found ? $"{name} at {found.Path}: {found.Reason}" : null;
}
