using System.Text.Json;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// What a finished task sends next (issue 18, machinery's rule): on success its <see cref="TaskSignature.OnSuccess"/>
/// signatures with the result first among their arguments, after a failed run its <see cref="TaskSignature.OnError"/>
/// ones with the error text first; an <see cref="TaskSignature.Immutable"/> one gets its own arguments only. A cancelled
/// task sends neither. A follower's id is its signature's, or made from the task, its run and its place, so a finish
/// handled twice submits the same ids, which the saga takes once.
/// </summary>
static class Followers
{
    static readonly Guid Namespace = new("3c9b6f0e-2d47-4a15-9e8c-7b1f5a60d2e4");

    /// <summary>The signatures as kept in the task's row; null when there are none.</summary>
    public static string? Store(IReadOnlyList<TaskSignature>? signatures) =>
        signatures is { Count: > 0 } ? JsonSerializer.Serialize(signatures) : null;

    public static bool Any(TaskState task) => StoredFor(task) is not null;

    /// <summary>The submissions <paramref name="task"/>'s finish makes (it has its finish time).</summary>
    public static IEnumerable<SubmitTask> Of(TaskState task)
    {
        if (StoredFor(task) is not { } stored)
            yield break;
        var succeeded = task.CurrentState == "Succeeded";
        var passed = succeeded ? PassedResults.Arg(task.Response) : new TaskArg("string", JsonSerializer.SerializeToElement(task.Error ?? ""));
        var signatures = JsonSerializer.Deserialize<TaskSignature[]>(stored)!;
        for (var i = 0; i < signatures.Length; i++)
        {
            var next = signatures[i];
            var id = next.TaskId ?? NameBasedIds.From(Namespace, $"{task.CorrelationId:N}/{task.RunFrom}/{(succeeded ? "success" : "error")}/{i}");
            var args = next.Immutable ? next.Args : [passed, .. next.Args];
            // A .NET task's followers go where it went; an HTTP task's to the default queue.
            yield return new SubmitTask(id, next with { Args = args, TaskId = id }, task.Http is null ? task.Queue : null, null,
                task.FinishedAt!.Value, Owner: task.Owner);
        }
    }

    /// <summary>The followers a finished task's outcome sends, as stored: its success ones, or a failed run's error ones.</summary>
    static string? StoredFor(TaskState task) => task.CurrentState switch
    {
        "Succeeded" => task.OnSuccess,
        "Failed" => task.OnError,
        _ => null,
    };
}
