using TaskHub.Api.Requests;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Tasks;

/// <summary>
/// Reads one task step of a request body: an HTTP task (<c>{callee, timeout, attempts, body}</c>, as <c>/task/new</c>) or a
/// .NET task (<c>{name, args, immutable}</c>), into the <see cref="SubmitTask"/> it is, naming each wrong field by its path.
/// <c>POST /workflows</c> reads its steps with it, <c>POST /tasks/batch</c> its tasks.
/// </summary>
sealed class TaskStepReader(OutboundUrlPolicy urls, Func<Guid, string> completionUrl, string? owner, DateTimeOffset now)
{
    /// <summary>The fields of either kind of step.</summary>
    public static readonly string[] Fields = ["callee", "timeout", "attempts", "body", "name", "args", "immutable"];

    /// <summary>
    /// The step as the task <paramref name="id"/>, or null (its errors named) when it is not exactly one of the two kinds:
    /// then <c>callee</c> is failed with <paramref name="rule"/>, and, when it is neither, any field not among <see cref="Fields"/>
    /// and <paramref name="alsoKnown"/> (what else the caller takes there, as a workflow's nested chain, group or chord).
    /// </summary>
    public SubmitTask? Read(JsonFields step, Guid id, string[] alsoKnown, string rule)
    {
        if (step.Has("callee") == step.Has("name"))
        {
            if (!step.Has("callee"))
                step.OnlyKnown([.. Fields, .. alsoKnown]);
            step.Fail("callee", rule);
            return null;
        }
        return step.Has("callee") ? Http(step, id) : DotNet(step, id);
    }

    /// <summary>As <c>/task/new</c>: its payload is its own <c>body</c> if given, else (in a chain) the result before it (the first step's: <c>{}</c>).</summary>
    SubmitTask Http(JsonFields step, Guid id)
    {
        step.OnlyKnown("callee", "timeout", "attempts", "body");
        var callee = step.Url("callee", required: true, urls);
        var timeout = step.Integer("timeout", 1, int.MaxValue, "must be a whole number of milliseconds");
        var attempts = step.Integer("attempts", 1, 100);
        var body = step.OptionalJson("body");
        return new SubmitTask(id, new TaskSignature(CallbackCenter.TaskNewEndpoints.TaskName, []) { Immutable = body is not null, TaskId = id }, null,
            new TaskPolicy(Attempts: (int?)attempts, TimeoutMs: (int?)timeout), now,
            new HttpTask(callee ?? "", null, body?.GetRawText() ?? "{}", completionUrl(id)), Owner: owner);
    }

    /// <summary>A named .NET task on the default queue; its arguments are JSON values, bound by the handler's parameter types.</summary>
    SubmitTask DotNet(JsonFields step, Guid id)
    {
        step.OnlyKnown("name", "args", "immutable");
        var name = step.Name("name");
        var args = (step.Array("args", "must be an array of the task's arguments") ?? []).Select(JsonTaskArg.From).ToArray();
        var immutable = step.Boolean("immutable") ?? false;
        return new SubmitTask(id, new TaskSignature(name, args) { Immutable = immutable, TaskId = id }, null, null, now, Owner: owner);
    }
}
