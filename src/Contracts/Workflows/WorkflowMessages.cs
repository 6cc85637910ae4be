using System.Text.Json;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

namespace TaskHub.Contracts.Workflows;

/// <summary>
/// How a workflow runs its steps (machinery's and Celery's canvas): a chain one after the other, each given the result
/// before it; a group all at once (at most <see cref="WorkflowSpec.SendConcurrency"/> running), its result the members'
/// results in order; a chord a group whose callback runs once every member succeeded, given those results.
/// </summary>
public enum WorkflowKind { Chain, Group, Chord }

/// <summary>
/// A workflow as sent: its steps, each a task or a nested workflow, every one with its id already made
/// (<see cref="WorkflowIds"/>), so a workflow sent twice is the same workflow, member by member.
/// </summary>
public sealed record WorkflowSpec(WorkflowKind Kind, IReadOnlyList<WorkflowStep> Steps, WorkflowStep? Callback = null, int SendConcurrency = 0)
{
    /// <summary>The most tasks one workflow holds, all levels counted.</summary>
    public const int MaxTasks = 1000;

    /// <summary>The deepest nesting of workflows in workflows.</summary>
    public const int MaxDepth = 8;

    /// <summary>The steps in the order the workflow's state numbers them: the steps, then the chord's callback.</summary>
    public IEnumerable<WorkflowStep> Members => Callback is null ? Steps : Steps.Append(Callback);

    public int TaskCount => Members.Sum(m => m.Workflow?.TaskCount ?? 1);

    public int Depth => 1 + Members.Max(m => m.Workflow?.Depth ?? 0);
}

/// <summary>
/// One step: a task (<paramref name="Task"/>, its submission as it will be sent, the result before it not yet passed) or a
/// nested workflow. <paramref name="Id"/> is the task's or the nested workflow's id.
/// </summary>
public sealed record WorkflowStep(Guid Id, SubmitTask? Task = null, WorkflowSpec? Workflow = null)
{
    public static WorkflowStep Of(SubmitTask task) => new(task.TaskId, task);

    public static WorkflowStep Of(Guid id, WorkflowSpec workflow) => new(id, Workflow: workflow);
}

/// <summary>
/// A workflow's members' ids, made from the workflow's id and each member's place (a task's own <see cref="TaskSignature.TaskId"/>
/// wins), the same on every process.
/// </summary>
public static class WorkflowIds
{
    static readonly Guid Namespace = new("5b0f8d3e-7a61-4c29-9e4d-2f8a6c1b07d3");

    public static Guid Member(Guid workflowId, int index) => NameBasedIds.From(Namespace, $"{workflowId:N}/{index}");
}

/// <summary>
/// Starts a workflow (or a nested one, with its <paramref name="ParentId"/> and place in it): the Scheduler records it and
/// starts its first members. <paramref name="Input"/>: the result passed to its first members (a nested step's), if any.
/// <paramref name="Callback"/>: where its outcome is POSTed when it finishes, as a task's. Sent again, it is the same
/// workflow: nothing more starts.
/// </summary>
public sealed record StartWorkflow(Guid WorkflowId, WorkflowSpec Spec, DateTimeOffset SubmittedAt, string? Owner = null,
    Guid? ParentId = null, int ParentIndex = 0, TaskArg? Input = null, string? Callback = null) : ITaskMessage
{
    Guid ITaskMessage.TaskId => WorkflowId;
}

/// <summary>
/// A member finished: a task's saga (or a nested workflow) tells its workflow, with its result (JSON) or its error. Reported
/// again when an operator's retry of a failed member makes it succeed, which resumes the workflow.
/// </summary>
public sealed record WorkflowMemberFinished(Guid WorkflowId, int Index, bool Succeeded, string? Result, string? Error, DateTimeOffset At)
    : ITaskMessage
{
    Guid ITaskMessage.TaskId => WorkflowId;
}

/// <summary>An operator cancels a workflow: nothing more of it starts, and its members still waiting or running are cancelled.</summary>
public sealed record CancelWorkflow(Guid WorkflowId, string? By, DateTimeOffset At) : ITaskMessage
{
    Guid ITaskMessage.TaskId => WorkflowId;
}

/// <summary>
/// What <c>SendChainAsync</c>, <c>SendGroupAsync</c> and <c>SendChordAsync</c> answer: the workflow's id (for
/// <c>GET /workflows/{id}</c> and cancelling), its tasks' ids in order, and a chord's callback's.
/// </summary>
public sealed record WorkflowSent(Guid WorkflowId, IReadOnlyList<Guid> TaskIds, Guid? CallbackId = null);

/// <summary>The one rule for passing a result on (machinery's): first among a .NET task's arguments, or as an HTTP task's body.</summary>
public static class PassedResults
{
    /// <summary>Each group level nests its members' results one deeper: deeper than JSON's default 64 is allowed.</summary>
    public static readonly JsonDocumentOptions Depth = new() { MaxDepth = 256 };

    /// <summary>A result as stored (JSON text) as an argument: a handler binds it by its parameter's type, whatever the label says.</summary>
    public static TaskArg Arg(string? result)
    {
        var value = JsonDocument.Parse(result ?? "null", Depth).RootElement.Clone();
        return new TaskArg(value.ValueKind switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "bool",
            JsonValueKind.Null => "null",
            _ => "json",
        }, value);
    }

    /// <summary>
    /// <paramref name="task"/> as started with <paramref name="input"/> before it: none, or an <see cref="TaskSignature.Immutable"/>
    /// task, keeps its own arguments (an HTTP task its own body).
    /// </summary>
    public static SubmitTask Into(SubmitTask task, TaskArg? input)
    {
        if (input is null || task.Signature.Immutable)
            return task;
        return task.Http is { } http
            ? task with { Http = http with { Payload = input.Value.GetRawText() } }
            : task with { Signature = task.Signature with { Args = [input, .. task.Signature.Args] } };
    }
}

/// <summary>What a workflow knows of one member (stored in <c>workflows.members</c>): whether it was started, and how it finished (null: not yet).</summary>
public sealed record MemberProgress(bool Started = false, bool? Succeeded = null, string? Result = null, string? Error = null,
    DateTimeOffset? At = null)
{
    public bool Running => Started && Succeeded is null;
}

/// <summary>How workflows are stored and shown: kinds by name.</summary>
public static class WorkflowJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
