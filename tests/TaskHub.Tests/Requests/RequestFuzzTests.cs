using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TaskHub.Tests.Definitions;

namespace TaskHub.Tests.Requests;

/// <summary>
/// Issue 14's fuzz run, on the real stack: walks the Api's own OpenAPI document and, for every operation
/// and every field and query parameter it declares, sends what a careless or hostile client would (a NUL,
/// a lone surrogate, a wrong JSON type, edge numbers, deep nesting, a missing required field, an
/// oversized body, a missing or wrong Content-Type, a repeated parameter, an unknown id, a wrong method).
/// Every answer must be a 4xx ProblemDetails naming what was wrong, and no table may gain or lose a row.
/// Each operation starts from a valid request of its own (sent once, and answered 2xx, before counting),
/// so a change of one field is what the answer is about. Deterministic: the random strings come from a
/// fixed seed.
/// </summary>
public sealed class RequestFuzzTests : DefinitionTest
{
    const int Seed = 14;
    const int BodyLimit = 64 * 1024;
    const string Nul = "a\u0000b";
    /// <summary>JSON text for a lone surrogate: a C# string cannot carry one through the serializer.</summary>
    const string LoneSurrogateJson = "\"\\ud800\"";

    // What the templates refer to, filled in by the set-up.
    string _callee = "", _callback = "";
    Guid _task;

    [Fact]
    public async Task No_bad_request_is_a_5xx_or_changes_a_table_and_every_4xx_names_its_field()
    {
        Define("fuzz", new { process = "NoSuchHandler" });
        await StartAsync(null, ("Api:MaxBodyBytes:Default", BodyLimit.ToString()), ("Api:MaxBodyBytes:PullQueue", BodyLimit.ToString()));
        _callee = Peer.Url("/work");
        _callback = Peer.Url("/callback");
        var document = await Api.Http.GetFromJsonAsync<JsonElement>("/docs/v1.json");

        // A task that waits (no Worker) for the routes that need one; its template confirms it.
        using (var created = await Send(HttpMethod.Post, $"/task/new?callee={Uri.EscapeDataString(_callee)}", "{}"))
            _task = Guid.Parse((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetString()!);
        await WaitUntilAsync(async () => (await Api.Http.GetAsync($"/tasks/{_task}")).IsSuccessStatusCode);
        var operations = Operations(document).ToList();
        var missing = operations.Where(o => !Templates.ContainsKey(o.Key)).Select(o => o.Key).ToList();
        Assert.True(missing.Count == 0, $"operations without a template (add one): {string.Join(", ", missing)}");
        foreach (var operation in operations.Where(o => o.Method != HttpMethod.Delete))
        {
            using var valid = await Send(operation.Method, operation.Path(Templates[operation.Key]), Templates[operation.Key].Body);
            Assert.True((int)valid.StatusCode < 300 || Templates[operation.Key].ValidIs404 && valid.StatusCode == HttpStatusCode.NotFound,
                $"the template of {operation.Key} answered {(int)valid.StatusCode}: {await valid.Content.ReadAsStringAsync()}");
        }
        var before = await SettledRowCountsAsync();

        var cases = operations.SelectMany(o => Cases(o, document)).ToList();
        Assert.InRange(cases.Count, 500, 5000);
        var failures = new List<string>();
        foreach (var c in cases)
        {
            using var response = await c.SendAsync(Api.Http);
            var text = await response.Content.ReadAsStringAsync();
            if (Verdict(c, response, text) is { } failure)
                failures.Add($"{c.Describe()} → {(int)response.StatusCode} {Shorten(text)}: {failure}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} answers were wrong:\n{string.Join("\n", failures.Take(40))}");

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var after = await SettledRowCountsAsync();
        Assert.Equal(before, after);
        // The template's own confirm finished the task; no bad confirm or progress changed what it holds.
        var task = await Api.Http.GetFromJsonAsync<JsonElement>($"/tasks/{_task}");
        Assert.Equal("SUCCESS", task.GetProperty("status").GetString());
        Assert.Equal("""{"ok":true,"data":"done"}""", task.GetProperty("response").GetRawText().Replace(" ", ""));
        Assert.Equal("half", task.GetProperty("message").GetString());
    }

    static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !await condition(); await Task.Delay(100))
            Assert.True(DateTime.UtcNow < deadline, "the set-up's task never appeared");
    }

    static string? Verdict(FuzzCase c, HttpResponseMessage response, string text)
    {
        var status = (int)response.StatusCode;
        if (status is < 400 or >= 500)
            return "not a 4xx";
        if (c.Status is { } expected && status != expected)
            return $"expected {expected}";
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            return "not ProblemDetails";
        JsonElement problem;
        try
        {
            problem = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            return "not JSON";
        }
        if (!problem.TryGetProperty("status", out var s) || s.GetInt32() != status || !problem.TryGetProperty("title", out _)
            || !problem.TryGetProperty("detail", out _))
            return "status, title or detail missing";
        if (!problem.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Object)
            return "no errors";
        var named = errors.EnumerateObject().Select(e => e.Name).ToList();
        return named.Any(c.Names) ? null : $"errors name {string.Join(", ", named)}, not {c.Field}";
    }

    /// <summary>Every row count of the test's database, once two readings a second apart agree (the set-up's work has landed).</summary>
    async Task<Dictionary<string, long>> SettledRowCountsAsync()
    {
        var last = await RowCountsAsync();
        for (var i = 0; i < 30; i++)
        {
            await Task.Delay(1000);
            var now = await RowCountsAsync();
            if (now.Count == last.Count && now.All(kv => last[kv.Key] == kv.Value))
                return now;
            last = now;
        }
        return last;
    }

    async Task<Dictionary<string, long>> RowCountsAsync()
    {
        var tables = new List<string>();
        await using (var connection = new Npgsql.NpgsqlConnection(System.Database))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        }
        // Quartz's own bookkeeping changes with time, not with requests.
        var counts = new Dictionary<string, long>();
        foreach (var table in tables.Where(t => t is not ("qrtz_scheduler_state" or "qrtz_locks")).Order())
            counts[table] = await System.CountAsync($"SELECT count(*) FROM \"{table}\"");
        return counts;
    }

    // ---- the operations and their valid requests ----

    sealed record Operation(HttpMethod Method, string Template, JsonElement Spec)
    {
        public string Key => $"{Method.Method} {Template}";

        public string Path(Valid valid, string? pathValue = null, string? pathName = null)
        {
            var path = Template;
            foreach (var (name, value) in valid.PathValues)
                path = path.Replace("{" + name + "}", name == pathName ? pathValue : value);
            return valid.Query.Count == 0 ? path : path + "?" + string.Join("&", valid.Query.Select(q => $"{q.Key}={Uri.EscapeDataString(q.Value)}"));
        }
    }

    /// <summary>A valid request of one operation: its path values, query and body; <paramref name="ValidIs404"/> for a lookup of nothing.</summary>
    sealed record Valid(Dictionary<string, string> PathValues, Dictionary<string, string> Query, string? Body, bool ValidIs404 = false);

    static IEnumerable<Operation> Operations(JsonElement document)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject())
            foreach (var method in path.Value.EnumerateObject())
                yield return new Operation(new HttpMethod(method.Name.ToUpperInvariant()), path.Name, method.Value);
    }

    Dictionary<string, Valid> Templates => _templates ??= BuildTemplates();
    Dictionary<string, Valid>? _templates;

    Dictionary<string, Valid> BuildTemplates()
    {
        var task = _task.ToString();
        var someId = Guid.NewGuid().ToString();
        var cron = $$$"""
            {"name": "fuzz", "count": 0, "cronJob": {"second": "0", "minute": "0", "hour": "0", "dom": "1", "month": "1", "dow": "*"},
             "startAt": 0, "stopAt": 0, "isMultipleEntry": false, "callback": {"url": "{{{_callback}}}", "method": "POST", "params": "{}"}}
            """;
        Dictionary<string, string> Path(params (string, string)[] values) => values.ToDictionary(v => v.Item1, v => v.Item2);
        Dictionary<string, string> Query(params (string, string)[] values) => values.ToDictionary(v => v.Item1, v => v.Item2);
        return new()
        {
            ["GET /tasks/{id}"] = new(Path(("id", task)), [], null),
            ["POST /tasks/{name}"] = new(Path(("name", "fuzz")), [], """{"args": [1, "a", {"k": "v"}], "id": "caller-1"}"""),
            ["GET /tasks/{name}/{id}"] = new(Path(("name", "fuzz"), ("id", "caller-1")), [], null),
            ["POST /tasks/{id}/progress"] = new(Path(("id", task)), [], """{"current": 1, "total": 2, "message": "half"}"""),
            ["POST /v1/task"] = new([], [], cron),
            ["POST /v1/task/quick"] = new([], [], $$$"""{"name": "once", "time": 4000000000, "callback": {"url": "{{{_callback}}}", "method": "POST"}}"""),
            ["POST /v1/task/status"] = new([], [], $$$"""{"taskToken": "{{{someId}}}", "taskResult": {"status": "SUCCESS"}}""", ValidIs404: true),
            ["GET /v1/task/history"] = new([], Query(("taskId", someId), ("beginAt", "0"), ("endAt", "0"), ("pageNum", "1"), ("pageSize", "10")), null),
            ["GET /v1/task/{id}"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["PUT /v1/task/{id}"] = new(Path(("id", someId)), [], cron, ValidIs404: true),
            ["DELETE /v1/task/{id}"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /task/new"] = new([], Query(("callee", _callee), ("callback", _callback), ("group", "g"), ("parallels", "2"), ("timeout", "60000"),
                ("attempts", "2")), """{"n": 1}"""),
            ["POST /task/end/{id}"] = new(Path(("id", task)), Query(("token", ConfirmToken(_task))), """{"ok": true, "data": "done"}"""),
            ["POST /callback/new"] = new([], Query(("callback", _callback), ("setTimeout", "600000")), """{"x": 1}"""),
            ["GET /callback/{id}"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["DELETE /callback/{id}"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /task/put"] = new([], [], """{"queue": "fq", "id": "f1", "info": {"k": 1}, "content": "AAEC", "config": {"forward_result_to": "fr", "cache_result_time": 10}}"""),
            ["POST /task/peek"] = new([], [], """{"queue": "fq", "size": 2, "timeout": 0, "cursor": "0"}"""),
            ["POST /task/acquire"] = new([], [], """{"queue": "fq", "ids": ["nothing-1"], "promise_reply_time": 5}"""),
            ["POST /task/reply"] = new([], [], """{"queue": "fq", "id": "nothing-1", "info": {}, "content": "", "lease": 1}"""),
            ["POST /task/call"] = new([], [], """{"queue": "fc", "id": "c1", "info": {}, "content": "", "config": {"cache_result_time": 5}, "timeout": 0}"""),
            ["POST /task/remove"] = new([], [], """{"queue": "fq", "id": "nothing-2"}"""),
            ["POST /task/clear_queue"] = new([], [], """{"queue": "empty-queue"}"""),
            ["POST /task/list_queue"] = new([], [], """{"cursor": "a", "count": 10}"""),
            ["POST /task/stat_queue"] = new([], [], """{"queue": "fq"}"""),
            ["POST /task/status"] = new([], [], """{"queue": "fq", "id": "f1"}"""),
            // The operations routes: lists, and actions on ids that name nothing (the waiting task must stay as it is).
            ["GET /tasks"] = new([], Query(("status", "WAITING"), ("name", "http"), ("queue", "taskhub.http"), ("group", "g"),
                ("from", "2026-01-01T00:00:00Z"), ("to", "2100-01-01T00:00:00Z"), ("q", "http"), ("limit", "10"),
                ("cursor", new TaskHub.Api.Operations.TaskCursor(DateTimeOffset.UtcNow, Guid.Empty).ToString())), null),
            ["GET /tasks/stats"] = new([], [], null),
            ["POST /tasks/{id}/retry"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /tasks/{id}/cancel"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["DELETE /tasks/{id}"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /tasks/retry"] = new([], Bulk("FAILURE"), null),
            ["POST /tasks/cancel"] = new([], Bulk("WAITING"), null),
            ["GET /me"] = new([], [], null),
            ["GET /groups"] = new([], [], null),
            ["GET /groups/{name}"] = new(Path(("name", "g")), [], null, ValidIs404: true),
            ["GET /schedules"] = new([], [], null),
            ["POST /schedules/{id}/pause"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /schedules/{id}/resume"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /schedules/{id}/fire"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["GET /callbacks"] = new([], [], null),
            ["GET /pull-queues"] = new([], [], null),
            ["GET /workers"] = new([], [], null),
            ["GET /broker/queues"] = new([], [], null),
            ["POST /workflows"] = new([], [], $$$"""{"chain": [{"callee": "{{{_callee}}}", "body": {"n": 1}}, {"name": "fuzz", "args": [1]}], "callback": "{{{_callback}}}"}"""),
            ["POST /tasks/batch"] = new([], [], $$$"""{"tasks": [{"callee": "{{{_callee}}}", "body": {"n": 1}, "timeout": 60000, "attempts": 2}, {"name": "fuzz", "args": [1], "immutable": true}]}"""),
            ["GET /workflows/{id}"] = new(Path(("id", someId)), [], null, ValidIs404: true),
            ["POST /workflows/{id}/cancel"] = new(Path(("id", someId)), [], null, ValidIs404: true),
        };

        // A dry run over a filter that matches nothing: no case of it may change a row.
        Dictionary<string, string> Bulk(string status) => Query(("status", status), ("name", "none"), ("queue", "none"), ("group", "none"),
            ("from", "2026-01-01T00:00:00Z"), ("to", "2100-01-01T00:00:00Z"), ("q", "none"), ("max", "5"), ("dryRun", "true"));
    }

    /// <summary>The token of the confirm URL a callee of <paramref name="task"/> is given.</summary>
    static string ConfirmToken(Guid task) => new TaskHub.Api.Auth.ConfirmTokens(Microsoft.Extensions.Options.Options.Create(
        new TaskHub.Api.Auth.AuthOptions { ConfirmKey = Infrastructure.TestSystem.ConfirmKey })).For(task);

    // ---- the cases ----

    /// <summary>One request of the run and the field (query parameter, header) its answer must name.</summary>
    sealed record FuzzCase(string Kind, HttpMethod Method, string Url, string? Body, string Field, int? Status = null,
        string? ContentType = "application/json", bool Chunked = false)
    {
        public bool Names(string error) => error == Field || error.StartsWith(Field + ".", StringComparison.Ordinal)
            || error.StartsWith(Field + "[", StringComparison.Ordinal)
            // A nesting too deep for the parser is the body's fault, wherever it sits.
            || Kind.StartsWith("deep", StringComparison.Ordinal) && error == "body";

        public string Describe() => $"{Method.Method} {Url} [{Kind} of {Field}] {(Body is null ? "" : Shorten(Body))}";

        public Task<HttpResponseMessage> SendAsync(HttpClient http)
        {
            var request = new HttpRequestMessage(Method, Url);
            if (Body is not null)
            {
                HttpContent content = Chunked ? new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Body))) : new ByteArrayContent(Encoding.UTF8.GetBytes(Body));
                if (ContentType is not null)
                    content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
                request.Content = content;
                if (Chunked)
                    request.Headers.TransferEncodingChunked = true;
            }
            return http.SendAsync(request);
        }
    }

    IEnumerable<FuzzCase> Cases(Operation operation, JsonElement document)
    {
        var valid = Templates[operation.Key];
        var url = operation.Path(valid);
        // string.GetHashCode differs between processes; the run must not.
        var random = new Random(Seed * 31 + operation.Key.Sum(c => c));

        foreach (var parameter in Parameters(operation))
        {
            var name = parameter.GetProperty("name").GetString()!;
            // Headers (Idempotency-Key) have tests of their own.
            if (parameter.GetProperty("in").GetString() == "header")
                continue;
            if (parameter.GetProperty("in").GetString() == "path")
            {
                var expected = name == "name" ? "name" : "id";
                foreach (var bad in new[] { "not-a-known-one", Guid.NewGuid().ToString() })
                    yield return new("unknown", operation.Method, operation.Path(valid, bad, name), valid.Body, expected, 404);
                continue;
            }
            var integer = Types(parameter.GetProperty("schema"), document).Contains("integer");
            var values = integer
                ? new[] { "x", "-1", "1.5", "9223372036854775808", "253402300800", "1e3", Nul }
                : new[] { Nul, "a\u0001b", RandomText(random) };
            foreach (var value in values)
                yield return new("query value", operation.Method, WithQuery(operation, valid, name, value), valid.Body, name);
            var once = valid.Query.GetValueOrDefault(name, integer ? "1" : "x");
            yield return new("repeated", operation.Method, $"{WithQuery(operation, valid, name, once)}&{name}={Uri.EscapeDataString(once)}",
                valid.Body, name);
        }

        if (operation.Spec.TryGetProperty("requestBody", out var requestBody)
            && requestBody.GetProperty("content").GetProperty("application/json").TryGetProperty("schema", out var bodySchema))
        {
            var template = JsonNode.Parse(valid.Body!)!.AsObject();
            var schema = Resolve(bodySchema, document);
            if (schema.TryGetProperty("properties", out _))
                foreach (var c in FieldCases(operation, url, template, [], schema, document, random))
                    yield return c;
            else
                // The body itself is the payload (a callee's input, a confirmed result, a callback's body).
                foreach (var (kind, json) in FreeJson(random))
                    yield return new(kind, operation.Method, url, json, "body");

            yield return new("not JSON", operation.Method, url, "{", "body", 400);
            yield return new("deep body", operation.Method, url, Deep(60), "body", 400);
            if (schema.TryGetProperty("properties", out _))
                yield return new("array body", operation.Method, url, "[1]", "body", 400);
            yield return new("no Content-Type", operation.Method, url, valid.Body, "Content-Type", 415, ContentType: null);
            yield return new("text/plain", operation.Method, url, valid.Body, "Content-Type", 415, ContentType: "text/plain");
            yield return new("form", operation.Method, url, "a=1", "Content-Type", 415, ContentType: "application/x-www-form-urlencoded");
            var padded = Padded(valid.Body!, BodyLimit + 1);
            yield return new("oversized", operation.Method, url, padded, "body", 413);
            yield return new("oversized chunked", operation.Method, url, padded, "body", 413, Chunked: true);
        }
        yield return new("wrong method", HttpMethod.Patch, url, null, "method", 405);
    }

    /// <summary>For each field at <paramref name="path"/>: the wrong types, bad strings and edge numbers, its removal when required, and its nested fields.</summary>
    IEnumerable<FuzzCase> FieldCases(Operation operation, string url, JsonObject template, string[] path, JsonElement schema, JsonElement document,
        Random random)
    {
        var required = schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()!).ToHashSet() : [];
        foreach (var property in schema.GetProperty("properties").EnumerateObject())
        {
            string[] at = [.. path, property.Name];
            var field = string.Join(".", at);
            var propertySchema = Resolve(property.Value, document);
            var types = Types(property.Value, document);
            foreach (var (kind, json) in BadValues(types, random))
                yield return new(kind, operation.Method, url, With(template, at, json), field);
            if (required.Contains(property.Name))
                yield return new("missing", operation.Method, url, With(template, at, null), field);
            if (types.Contains("object") && propertySchema.TryGetProperty("properties", out _))
                foreach (var c in FieldCases(operation, url, template, at, propertySchema, document, random))
                    yield return c;
        }
    }

    /// <summary>JSON values a field of these types must refuse (free JSON takes any value, so only what no string may hold).</summary>
    static IEnumerable<(string Kind, string Json)> BadValues(IReadOnlySet<string> types, Random random)
    {
        if (types.Count == 0)
        {
            foreach (var free in FreeJson(random))
                yield return free;
            yield break;
        }
        yield return ("NUL", JsonSerializer.Serialize(Nul));
        yield return ("lone surrogate", LoneSurrogateJson);
        yield return ("random NUL", JsonSerializer.Serialize(RandomText(random)));
        if (!types.Contains("boolean"))
            yield return ("wrong type", "true");
        if (!types.Contains("array"))
            yield return ("wrong type", "[]");
        if (!types.Contains("object"))
            yield return ("wrong type", """{"a": 1}""");
        if (types.Contains("array"))
            yield return ("wrong type", "\"text\"");
        if (types.Contains("boolean"))
        {
            yield return ("wrong type", "\"maybe\"");
            yield return ("wrong type", "5");
        }
        if (types.Contains("integer") || types.Contains("number"))
        {
            yield return ("wrong type", "\"x\"");
            foreach (var edge in new[] { "-1", "9223372036854775808", "-9223372036854775809", "253402300800", "1e400", "\"NaN\"" })
                yield return ("edge number", edge);
            if (types.Contains("integer"))
                yield return ("edge number", "1.5");
        }
        if (types.Contains("string") && !types.Contains("integer") && !types.Contains("number") && !types.Contains("array"))
            yield return ("too long", JsonSerializer.Serialize(new string('x', 5001)));
        yield return ("deep", Deep(60));
    }

    /// <summary>Values no JSON payload may carry: a NUL or a lone surrogate anywhere in it, a key that is not text, nesting past the limit.</summary>
    static IEnumerable<(string Kind, string Json)> FreeJson(Random random)
    {
        yield return ("NUL inside", $$"""{"k": {{JsonSerializer.Serialize(Nul)}}}""");
        yield return ("NUL key", """{"a\u0000": 1}""");
        yield return ("lone surrogate inside", $$"""[1, {{LoneSurrogateJson}}]""");
        yield return ("lone surrogate key", """{"\udc00": 1}""");
        yield return ("random NUL inside", JsonSerializer.Serialize(new[] { RandomText(random) }));
        yield return ("deep", Deep(60));
    }

    static string RandomText(Random random)
    {
        var chars = new char[random.Next(1, 24)];
        for (var i = 0; i < chars.Length; i++)
            chars[i] = (char)random.Next(0x20, 0x3000);
        chars[random.Next(chars.Length)] = '\0';
        return new string(chars);
    }

    static string Deep(int levels) => string.Concat(Enumerable.Repeat("{\"a\":", levels)) + "1" + new string('}', levels);

    /// <summary>The template with the field at <paramref name="path"/> replaced by raw JSON (null: removed).</summary>
    static string With(JsonObject template, string[] path, string? json)
    {
        const string marker = "\"__fuzz_marker__\"";
        var copy = JsonNode.Parse(template.ToJsonString())!.AsObject();
        var target = copy;
        foreach (var name in path[..^1])
        {
            if (target[name] is not JsonObject inner)
                target[name] = inner = new JsonObject();
            target = inner;
        }
        if (json is null)
        {
            target.Remove(path[^1]);
            return copy.ToJsonString();
        }
        // Raw text, so that a lone surrogate or a depth past the parser's limit reaches the server as written.
        target[path[^1]] = "__fuzz_marker__";
        return copy.ToJsonString().Replace(marker, json);
    }

    static string Padded(string body, int size)
    {
        var node = JsonNode.Parse(body)!.AsObject();
        node["padding"] = new string('p', size);
        return node.ToJsonString();
    }

    string WithQuery(Operation operation, Valid valid, string name, string value)
    {
        var query = new Dictionary<string, string>(valid.Query) { [name] = value };
        return operation.Path(valid with { Query = query });
    }

    static IEnumerable<JsonElement> Parameters(Operation operation) =>
        operation.Spec.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray() : [];

    static JsonElement Resolve(JsonElement schema, JsonElement document)
    {
        if (schema.TryGetProperty("$ref", out var reference))
            return document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1]);
        if (schema.TryGetProperty("oneOf", out var oneOf))
            foreach (var option in oneOf.EnumerateArray())
                if (!(option.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null"))
                    return Resolve(option, document);
        return schema;
    }

    /// <summary>The JSON types a schema allows besides null; none for free JSON.</summary>
    static IReadOnlySet<string> Types(JsonElement schema, JsonElement document)
    {
        var resolved = Resolve(schema, document);
        if (!resolved.TryGetProperty("type", out var type))
            return new HashSet<string>();
        return (type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!) : [type.GetString()!])
            .Where(t => t != "null").ToHashSet();
    }

    Task<HttpResponseMessage> Send(HttpMethod method, string url, string? body)
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return Api.Http.SendAsync(request);
    }

    static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
