using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Definitions;

/// <summary><c>POST /tasks/{name}</c>: the task's arguments, and optionally the caller's own id for it (a string or a whole number).</summary>
[RequestShape]
public sealed record AddTaskBody(JsonElement[]? Args, JsonElement? Id);

/// <summary><c>POST /tasks/{id}/progress</c>: seed 001's <c>Progress(current, total, message)</c>.</summary>
[RequestShape]
public sealed record ProgressBody([property: Required] int Current, [property: Required] int Total, string? Message);

/// <summary>The answer to an add: the task's id, for <c>GET /tasks/{name}/{id}</c>.</summary>
public sealed record AddedTask(Guid Id);

/// <summary>A task of a declared type as seed 001's <c>tasks.&lt;name&gt;.get</c> shows it, with the error of a FAILURE.</summary>
public sealed record DefinedTaskView(Guid Id, string Status, int Current, int Total, string? Message, JsonElement? Response, string? Error);

/// <summary>Reads the JSON bodies of the definition routes by <see cref="JsonFields"/>' rules; unknown fields are errors.</summary>
public static class DefinitionRequestReader
{
    public const int MaxIdLength = 200;
    public const int MaxMessageLength = 2000;

    public static (IReadOnlyList<TaskArg> Args, string? Id) ReadAdd(JsonFields body)
    {
        body.OnlyKnown("args", "id");
        var args = body.Array("args", "must be an array of the task's arguments")?.Select(JsonTaskArg.From).ToList() ?? [];
        string? id = null;
        if (body.OptionalJson("id") is { } given)
        {
            id = given.ValueKind == JsonValueKind.Number ? body.Integer("id", long.MinValue, long.MaxValue)?.ToString(CultureInfo.InvariantCulture)
                : body.Text("id", MaxIdLength);
            if (string.IsNullOrWhiteSpace(id) && !body.Errors.Has("id"))
                body.Fail("id", $"must be a whole number or a non-empty string of at most {MaxIdLength} characters.");
        }
        return (args, string.IsNullOrWhiteSpace(id) ? null : id);
    }

    public static ProgressBody ReadProgress(JsonFields body)
    {
        body.OnlyKnown("current", "total", "message");
        var current = Count(body, "current");
        var total = Count(body, "total");
        return new ProgressBody(current, total, body.Text("message", MaxMessageLength));
    }

    static int Count(JsonFields body, string field)
    {
        body.Require(body.Has(field), field, "is required.");
        return (int)(body.Integer(field, 0, int.MaxValue, "must be a whole number of at least 0") ?? 0);
    }
}
