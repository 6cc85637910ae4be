using System.Text.Json;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Definitions;

/// <summary><c>POST /tasks/{name}</c>: the task's arguments, and optionally the caller's own id for it (a string or a whole number).</summary>
public sealed record AddTaskBody(JsonElement[]? Args, JsonElement? Id);

/// <summary><c>POST /tasks/{id}/progress</c>: seed 001's <c>Progress(current, total, message)</c>.</summary>
public sealed record ProgressBody(int Current, int Total, string? Message);

/// <summary>The answer to an add: the task's id, for <c>GET /tasks/{name}/{id}</c>.</summary>
public sealed record AddedTask(Guid Id);

/// <summary>A task of a declared type as seed 001's <c>tasks.&lt;name&gt;.get</c> shows it, with the error of a FAILURE.</summary>
public sealed record DefinedTaskView(Guid Id, string Status, int Current, int Total, string? Message, JsonElement? Response, string? Error);

/// <summary>Reads the JSON bodies of the definition routes field by field, naming every field that is wrong.</summary>
public sealed class DefinitionRequestReader
{
    public const int MaxIdLength = 200;
    public const int MaxMessageLength = 2000;

    public Dictionary<string, string[]> Errors { get; } = new(StringComparer.Ordinal);

    public async Task<(IReadOnlyList<TaskArg> Args, string? Id)> ReadAddAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var document = await ReadObjectAsync(request, ["args", "id"], cancellationToken);
        if (document is null)
            return ([], null);
        var root = document.RootElement;
        IReadOnlyList<TaskArg> args = [];
        if (root.TryGetProperty("args", out var a) && a.ValueKind != JsonValueKind.Null)
        {
            if (a.ValueKind == JsonValueKind.Array)
                args = a.EnumerateArray().Select(JsonTaskArg.From).ToList();
            else
                Fail("args", $"must be an array of the task's arguments (was {a.ValueKind})");
        }
        string? id = null;
        if (root.TryGetProperty("id", out var i) && i.ValueKind != JsonValueKind.Null)
        {
            id = i.ValueKind switch
            {
                JsonValueKind.String => i.GetString(),
                JsonValueKind.Number when i.TryGetInt64(out var number) => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => null,
            };
            if (string.IsNullOrWhiteSpace(id) || id.Length > MaxIdLength)
            {
                Fail("id", $"must be a whole number or a non-empty string of at most {MaxIdLength} characters (was {i.GetRawText()})");
                id = null;
            }
        }
        return (args, id);
    }

    public async Task<ProgressBody?> ReadProgressAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var document = await ReadObjectAsync(request, ["current", "total", "message"], cancellationToken);
        if (document is null)
            return null;
        var root = document.RootElement;
        var current = Count(root, "current");
        var total = Count(root, "total");
        string? message = null;
        if (root.TryGetProperty("message", out var m) && m.ValueKind != JsonValueKind.Null)
        {
            if (m.ValueKind != JsonValueKind.String || m.GetString()!.Length > MaxMessageLength)
                Fail("message", $"must be a string of at most {MaxMessageLength} characters");
            else
                message = m.GetString();
        }
        return Errors.Count == 0 ? new ProgressBody(current, total, message) : null;
    }

    int Count(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
            Fail(name, "is required");
        else if (!value.TryGetInt32(out var number) || number < 0)
            Fail(name, $"must be a whole number of at least 0 (was {value.GetRawText()})");
        else
            return number;
        return 0;
    }

    /// <summary>The body as a JSON object with only <paramref name="known"/> fields; an empty body is <c>{}</c>.</summary>
    async Task<JsonDocument?> ReadObjectAsync(HttpRequest request, string[] known, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(cancellationToken);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text);
        }
        catch (JsonException ex)
        {
            Fail("body", $"must be JSON: {ex.Message}");
            return null;
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            Fail("body", $"must be a JSON object (was {document.RootElement.ValueKind})");
            document.Dispose();
            return null;
        }
        foreach (var property in document.RootElement.EnumerateObject())
            if (!known.Contains(property.Name))
                Fail(property.Name, $"is not a known field (known: {string.Join(", ", known)})");
        return document;
    }

    void Fail(string field, string message) => Errors[field] = [message];
}
