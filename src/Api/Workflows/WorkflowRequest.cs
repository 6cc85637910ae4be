using System.ComponentModel;
using System.Text.Json;
using TaskHub.Api.Requests;
using TaskHub.Api.Tasks;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Api.Workflows;

/// <summary>The body of <c>POST /workflows</c> (for the OpenAPI document; <see cref="WorkflowRequest"/> reads it): one of chain, group, chord.</summary>
[RequestShape]
public sealed record WorkflowBody(
    [property: Description("Steps run one after the other, each given the result before it")] IReadOnlyList<JsonElement>? Chain,
    [property: Description("Steps run in parallel; the result is their results in order")] IReadOnlyList<JsonElement>? Group,
    [property: Description("{group: [steps], callback: step, sendConcurrency}: the callback runs once with every result in order")] JsonElement? Chord,
    [property: Description("With group: at most this many steps run at once (0, the default: all)")] int? SendConcurrency,
    [property: Description("Where the workflow's outcome is POSTed, as /task/new's callback")] string? Callback);

/// <summary>
/// Reads the body of <c>POST /workflows</c> into a <see cref="WorkflowSpec"/>, naming each wrong field by its path
/// (<c>chain[1].group[0].callee</c>). A workflow is <c>{"chain": [steps]}</c>, <c>{"group": [steps], "sendConcurrency": n}</c>
/// or <c>{"chord": {"group": [steps], "callback": step, "sendConcurrency": n}}</c>; a step is an HTTP task
/// (<c>{callee, timeout, attempts, body}</c>, as <c>/task/new</c>), a .NET task (<c>{name, args, immutable}</c>) or a workflow.
/// </summary>
sealed class WorkflowRequest(OutboundUrlPolicy urls, Func<Guid, string> completionUrl, string? owner, DateTimeOffset now)
{
    static readonly string[] Forms = ["chain", "group", "chord"];
    readonly TaskStepReader _steps = new(urls, completionUrl, owner, now);
    int _tasks;

    /// <summary>The top level: a workflow and, beside it, the <c>callback</c> URL its outcome is POSTed to.</summary>
    public (WorkflowSpec? Spec, string? Callback) Read(JsonFields body, Guid workflowId)
    {
        var spec = Workflow(body, workflowId, 1, ["callback"]);
        var callback = body.Url("callback", required: false, urls);
        if (_tasks > WorkflowSpec.MaxTasks)
            body.Fail(Forms.FirstOrDefault(body.Has) ?? "chain", $"holds {_tasks} tasks; a workflow holds at most {WorkflowSpec.MaxTasks}.");
        return (body.IsValid ? spec : null, callback);
    }

    WorkflowSpec? Workflow(JsonFields fields, Guid id, int depth, string[] alsoKnown)
    {
        var forms = Forms.Where(fields.Has).ToList();
        if (forms.Count != 1)
        {
            foreach (var form in forms.DefaultIfEmpty("chain"))
                fields.Fail(form, "a workflow is exactly one of chain, group or chord.");
            return null;
        }
        if (depth > WorkflowSpec.MaxDepth)
        {
            fields.Fail(forms[0], $"nests workflows deeper than {WorkflowSpec.MaxDepth}.");
            return null;
        }
        switch (forms[0])
        {
            case "chain":
                fields.OnlyKnown(["chain", .. alsoKnown]);
                return new WorkflowSpec(WorkflowKind.Chain, Steps(fields, "chain", id, 0, depth));
            case "group":
                fields.OnlyKnown(["group", "sendConcurrency", .. alsoKnown]);
                return new WorkflowSpec(WorkflowKind.Group, Steps(fields, "group", id, 0, depth), SendConcurrency: Concurrency(fields));
            default:
                fields.OnlyKnown(["chord", .. alsoKnown]);
                var chord = fields.Object("chord", required: true);
                chord.OnlyKnown("group", "callback", "sendConcurrency");
                var members = Steps(chord, "group", id, 0, depth);
                var callback = Step(chord.Object("callback", required: true, rule: "the step run with every member's result"),
                    WorkflowIds.Member(id, members.Count), depth);
                return callback is null ? null : new WorkflowSpec(WorkflowKind.Chord, members, callback, Concurrency(chord));
        }
    }

    static int Concurrency(JsonFields fields) => fields.Int32("sendConcurrency", 0, 0, WorkflowSpec.MaxTasks);

    List<WorkflowStep> Steps(JsonFields fields, string field, Guid workflowId, int first, int depth)
    {
        var items = fields.Array(field, "must be an array of steps");
        if (items is null or { Count: 0 })
        {
            // A wrong type was named by Array already.
            if (items is not null || !fields.Has(field))
                fields.Fail(field, "must be a non-empty array of steps.");
            return [];
        }
        var steps = new List<WorkflowStep>();
        for (var i = 0; i < items.Count; i++)
            if (Step(fields.Item(field, i, items[i]), WorkflowIds.Member(workflowId, first + i), depth) is { } step)
                steps.Add(step);
        return steps;
    }

    WorkflowStep? Step(JsonFields step, Guid id, int depth)
    {
        // A nested workflow counts as a member too: it is a row of its own to keep and to read.
        _tasks++;
        if (Forms.Any(step.Has))
            return Workflow(step, id, depth + 1, []) is { } nested ? WorkflowStep.Of(id, nested) : null;
        return _steps.Read(step, id, Forms,
            "a step is exactly one of an HTTP task (callee), a .NET task (name), or a chain, group or chord.") is { } task
            ? WorkflowStep.Of(task)
            : null;
    }
}
