using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using TaskHub.Contracts.Options;

namespace TaskHub.Contracts.Definitions;

/// <summary>
/// Reads task definitions (seed 001): one <c>&lt;id&gt;.json</c> per type in the folder
/// <c>TaskHub:Tasks:Path</c> (comments allowed, as in the seed's <c>.yao</c> files), and the sections
/// <c>TaskHub:Tasks:Definitions:&lt;id&gt;</c>. String values may use <c>$ENV.NAME</c>. Whatever it does
/// not understand (an unknown field, a negative number, a missing process) is an error naming the
/// file and the field, never a silent default.
/// </summary>
public static partial class TaskDefinitionLoader
{
    public const int DefaultWorkerNums = 1;
    public const int DefaultAttempts = 1;
    public const int DefaultAttemptAfterMs = 200;
    public const int DefaultTimeoutSeconds = 300;
    public const int DefaultSize = 1024;

    /// <summary>
    /// A task's attempts all run while its Worker holds the message, and RabbitMQ closes a channel
    /// that holds one unacknowledged for 30 minutes (its default <c>consumer_timeout</c>).
    /// </summary>
    public static readonly TimeSpan MaxTaskDuration = TimeSpan.FromMinutes(25);

    static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    static readonly string[] Fields = ["name", "worker_nums", "attempts", "attempt_after", "backoff", "timeout", "size", "rate_limit", "process", "event"];
    static readonly string[] ProcessFields = ["url", "method"];
    static readonly string[] HttpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    public static TaskDefinitionCatalog Load(IConfiguration section, Func<string, string?> environment)
    {
        var loaded = new List<TaskDefinition>();
        var folder = section["Path"];
        if (!string.IsNullOrWhiteSpace(folder))
        {
            if (!Directory.Exists(folder))
                throw new TaskDefinitionException($"configuration {TaskDefinitionOptions.Section}", "Path", $"names the folder '{folder}', which does not exist");
            foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
                loaded.Add(ParseFile(file, environment));
        }
        foreach (var entry in section.GetSection("Definitions").GetChildren())
            loaded.Add(Parse(entry.Key, $"configuration {TaskDefinitionOptions.Section}:Definitions:{entry.Key}",
                JsonSerializer.SerializeToElement(ToJson(entry)), environment));
        return new TaskDefinitionCatalog(loaded);
    }

    /// <summary>The file's name without <c>.json</c> is the type's id.</summary>
    public static TaskDefinition ParseFile(string file, Func<string, string?> environment)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(file), JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new TaskDefinitionException(file, ex.Path ?? "$", $"is not valid JSON (line {ex.LineNumber + 1}): {ex.Message}");
        }
        using (document)
            return Parse(Path.GetFileNameWithoutExtension(file), file, document.RootElement, environment);
    }

    /// <summary>The literal routes beside <c>POST /tasks/{name}</c> (a type's add), which outrank it: no type may be named so.</summary>
    public static readonly string[] ReservedIds = ["batch", "retry", "cancel"];

    public static TaskDefinition Parse(string id, string source, JsonElement root, Func<string, string?> environment)
    {
        var read = new FieldReader(source, environment);
        if (!IdPattern().IsMatch(id))
            throw read.Fail("id", $"'{id}' (the file name) must be 1 to 100 letters, digits, '.', '_' or '-': it names the type in routes and queues");
        if (ReservedIds.Contains(id, StringComparer.OrdinalIgnoreCase))
            throw read.Fail("id", $"'{id}' (the file name) is taken: POST /tasks/{id.ToLowerInvariant()} is a route of its own, so no task of the type could be added");
        var fields = read.Object(root, "", Fields);

        var name = fields.TryGetValue("name", out var n) ? read.Text(n, "name") : id;
        var workerNums = read.Number(fields, "worker_nums", DefaultWorkerNums, 1, 10_000);
        var attempts = read.Number(fields, "attempts", DefaultAttempts, 1, 100);
        var attemptAfter = read.Number(fields, "attempt_after", DefaultAttemptAfterMs, 0, AsyncTaskOptionsValidator.MaxAttemptAfterMs);
        var timeout = read.Number(fields, "timeout", DefaultTimeoutSeconds, 1, (int)MaxTaskDuration.TotalSeconds);
        var size = read.Number(fields, "size", DefaultSize, 1, 10_000_000);
        var exponential = fields.TryGetValue("backoff", out var b) && read.Text(b, "backoff") switch
        {
            "exponential" => true,
            "fixed" => false,
            var other => throw read.Fail("backoff", $"must be \"fixed\" or \"exponential\" (was '{other}')"),
        };
        RateLimit? rateLimit = !fields.TryGetValue("rate_limit", out var r) ? null
            : RateLimit.TryParse(read.Text(r, "rate_limit"), out var limit) ? limit
            : throw read.Fail("rate_limit", $"must be {RateLimit.Forms} (how often its tasks may start, cluster-wide)");
        var waits = Enumerable.Range(0, attempts - 1)
            .Sum(i => Math.Min((double)attemptAfter * (exponential ? Math.Pow(2, i) : 1), AsyncTaskOptionsValidator.MaxAttemptAfterMs));
        var longest = TimeSpan.FromSeconds((double)attempts * timeout) + TimeSpan.FromMilliseconds(waits);
        if (longest > MaxTaskDuration)
            throw read.Fail("timeout", $"× attempts + attempt_after between them come to {longest.TotalMinutes:0.#} minutes; keep them under " +
                $"{MaxTaskDuration.TotalMinutes:0} (a Worker holds the task's message for all its attempts, and RabbitMQ drops a consumer after 30)");

        if (!fields.TryGetValue("process", out var process))
            throw read.Fail("process", "is required: the name of a registered .NET handler, or {\"url\": ..., \"method\": ...}");
        var events = fields.TryGetValue("event", out var e) ? ReadEvents(read, e) : TaskEventHooks.None;
        return new TaskDefinition(id, name, source, workerNums, attempts, attemptAfter, timeout, size, ReadProcess(read, process), events, exponential, rateLimit);
    }

    static TaskProcess ReadProcess(FieldReader read, JsonElement process)
    {
        if (process.ValueKind == JsonValueKind.String)
        {
            var text = read.Text(process, "process");
            return TaskHooks.IsWebhook(text) ? TaskProcess.ForUrl(new Uri(text), "POST") : TaskProcess.ForHandler(text);
        }
        if (process.ValueKind != JsonValueKind.Object)
            throw read.Fail("process", "must be a .NET handler name or an object {\"url\": ..., \"method\": ...}");
        var fields = read.Object(process, "process", ProcessFields);
        if (!fields.TryGetValue("url", out var u))
            throw read.Fail("process.url", "is required for an HTTP process");
        var url = read.Text(u, "process.url");
        if (!TaskHooks.IsWebhook(url))
            throw read.Fail("process.url", $"must be an absolute http(s) URL (was '{url}')");
        var method = fields.TryGetValue("method", out var m) ? read.Text(m, "process.method").ToUpperInvariant() : "POST";
        if (!HttpMethods.Contains(method))
            throw read.Fail("process.method", $"must be one of {string.Join(", ", HttpMethods)} (was '{method}')");
        return TaskProcess.ForUrl(new Uri(url), method);
    }

    static TaskEventHooks ReadEvents(FieldReader read, JsonElement events)
    {
        var fields = read.Object(events, "event", TaskHooks.Events);
        string? Hook(string name)
        {
            if (!fields.TryGetValue(name, out var value))
                return null;
            var target = read.Text(value, $"event.{name}");
            if (target.Contains("://") && !TaskHooks.IsWebhook(target))
                throw read.Fail($"event.{name}", $"must be an http(s) URL or a .NET handler name (was '{target}')");
            return target;
        }
        return new TaskEventHooks(Hook(TaskHooks.Next), Hook(TaskHooks.Add), Hook(TaskHooks.Success), Hook(TaskHooks.Error), Hook(TaskHooks.Progress));
    }

    /// <summary>A configuration section as the JSON a file would hold (every value a string).</summary>
    static JsonNode? ToJson(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
            return section.Value is null ? null : JsonValue.Create(section.Value);
        var node = new JsonObject();
        foreach (var child in children)
            node[child.Key] = ToJson(child);
        return node;
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"\$ENV\.([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex EnvReference();

    sealed class FieldReader(string source, Func<string, string?> environment)
    {
        public TaskDefinitionException Fail(string field, string problem) => new(source, field, problem);

        /// <summary>The object's fields by lower-case name; a field it does not know is an error. JSON nulls count as absent.</summary>
        public Dictionary<string, JsonElement> Object(JsonElement element, string path, string[] known)
        {
            var at = path.Length == 0 ? "(root)" : path;
            if (element.ValueKind != JsonValueKind.Object)
                throw Fail(at, $"must be a JSON object (was {element.ValueKind})");
            var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                var key = property.Name.ToLowerInvariant();
                var field = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                if (!known.Contains(key))
                    throw Fail(field, $"is not a known field (known: {string.Join(", ", known)})");
                if (fields.ContainsKey(key))
                    throw Fail(field, "is given twice");
                if (property.Value.ValueKind != JsonValueKind.Null)
                    fields[key] = property.Value;
            }
            return fields;
        }

        public string Text(JsonElement element, string field)
        {
            if (element.ValueKind != JsonValueKind.String)
                throw Fail(field, $"must be a string (was {element.ValueKind})");
            var text = Substitute(element.GetString()!, field).Trim();
            return text.Length > 0 ? text : throw Fail(field, "must not be empty");
        }

        /// <summary>A whole number, from JSON or from a string (configuration values and <c>$ENV</c> references are strings).</summary>
        public int Number(Dictionary<string, JsonElement> fields, string field, int fallback, int min, int max)
        {
            if (!fields.TryGetValue(field, out var element))
                return fallback;
            long value;
            if (element.ValueKind == JsonValueKind.Number)
            {
                if (!element.TryGetInt64(out value))
                    throw Fail(field, $"must be a whole number (was {element.GetRawText()})");
            }
            else if (element.ValueKind == JsonValueKind.String)
            {
                var text = Substitute(element.GetString()!, field).Trim();
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
                    throw Fail(field, $"must be a whole number (was '{text}')");
            }
            else
                throw Fail(field, $"must be a whole number (was {element.ValueKind})");
            if (value < 0)
                throw Fail(field, $"must not be negative (was {value})");
            if (value < min || value > max)
                throw Fail(field, $"must be between {min} and {max} (was {value})");
            return (int)value;
        }

        string Substitute(string value, string field) => EnvReference().Replace(value, match =>
            environment(match.Groups[1].Value) ?? throw Fail(field, $"uses {match.Value}, which is not set"));
    }
}
