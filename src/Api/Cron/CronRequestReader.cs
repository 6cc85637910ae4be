using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskHub.Contracts.Cron;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.Cron;

/// <summary>
/// Reads <c>/v1/task</c> requests field by field, collecting every bad one, so a bad request is
/// answered with one 400 naming its fields and schedules nothing. Numbers may come as JSON
/// numbers or numeric strings, booleans as true/false or "true"/"false" (JavaScript clients send
/// both); null counts as absent.
/// </summary>
public sealed class CronRequestReader(OutboundUrlPolicy urls)
{
    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    public static readonly string[] ReportStatuses = [CronFireStatuses.Success, CronFireStatuses.Failed];

    const int MaxNameLength = 200;
    /// <summary>9999-12-31T23:59:59Z: the largest unix second a timestamp can hold.</summary>
    const long MaxUnixSeconds = 253_402_300_799;

    readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    /// <summary>The 400 answer: every bad field under <c>errors</c>, the first under <c>field</c>.</summary>
    public ValidationProblem Problem() => TypedResults.ValidationProblem(_errors,
        title: "The request is invalid.",
        extensions: new Dictionary<string, object?> { ["field"] = _errors.Keys.First() });

    public void Fail(string field, string message)
    {
        if (!_errors.ContainsKey(field))
            _errors[field] = [message];
    }

    /// <summary>The body as a JSON object; an unreadable one is a <c>body</c> error.</summary>
    public async Task<JsonElement> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
                return document.RootElement.Clone();
            Fail("body", "must be a JSON object.");
        }
        catch (JsonException ex)
        {
            Fail("body", $"is not valid JSON: {ex.Message}");
        }
        return default;
    }

    /// <summary><c>POST /v1/task</c>, <c>PUT /v1/task/{id}</c>.</summary>
    public CronTaskSpec CronTask(JsonElement body)
    {
        var name = Name(body);
        var count = (int)(Integer(body, "count", "count", 0, int.MaxValue, "must be 0 (unlimited) or a positive number of fires") ?? 0);
        var cron = Cron(body);
        var startAt = Integer(body, "startAt", "startAt", 0, MaxUnixSeconds, "must be unix seconds (0 = no start)") ?? 0;
        var stopAt = Integer(body, "stopAt", "stopAt", 0, MaxUnixSeconds, "must be unix seconds (0 = no stop)") ?? 0;
        if (startAt > 0 && stopAt > 0 && stopAt < startAt)
            Fail("stopAt", $"{stopAt} is before startAt {startAt}.");
        var isMultipleEntry = Boolean(body, "isMultipleEntry", "isMultipleEntry") ?? false;
        var callback = Callback(body);
        return new CronTaskSpec(name, cron, null, count, UnixOrNull(startAt), UnixOrNull(stopAt), isMultipleEntry, callback);
    }

    /// <summary><c>POST /v1/task/quick</c>: one fire at <c>time</c>.</summary>
    public CronTaskSpec QuickTask(JsonElement body)
    {
        var name = Name(body);
        var time = Integer(body, "time", "time", 0, MaxUnixSeconds, "must be unix seconds");
        if (time is null && !Has(body, "time"))
            Fail("time", "is required (unix seconds; a past time fires now).");
        var callback = Callback(body);
        return new CronTaskSpec(name, null, DateTimeOffset.FromUnixTimeSeconds(time ?? 0), 1, null, null, true, callback);
    }

    /// <summary><c>POST /v1/task/status</c>. A token that is no fire's token is null (answered 404, not 400).</summary>
    public (Guid? Token, string Status) StatusReport(JsonElement body)
    {
        var tokenText = Text(body, "taskToken", "taskToken");
        if (tokenText is null && !Has(body, "taskToken"))
            Fail("taskToken", "is required: the X-TaskHub-Token of the fire.");
        var status = "";
        if (!Has(body, "taskResult"))
            Fail("taskResult", "is required: {status: SUCCESS | FAILED}.");
        else if (Object(body, "taskResult", "taskResult") is { } result)
        {
            status = Text(result, "status", "taskResult.status")?.ToUpperInvariant() ?? "";
            if (!ReportStatuses.Contains(status))
                Fail("taskResult.status", $"must be {string.Join(" or ", ReportStatuses)}.");
        }
        return (Guid.TryParse(tokenText, out var token) ? token : null, status);
    }

    /// <summary>An optional integer query parameter.</summary>
    public long? Query(IQueryCollection query, string field, long min, long max, string rule)
    {
        var text = query[field].ToString();
        if (text.Length == 0)
            return null;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            return value;
        Fail(field, $"'{text}' {rule}.");
        return null;
    }

    string Name(JsonElement body)
    {
        var name = Text(body, "name", "name");
        if (string.IsNullOrWhiteSpace(name))
            Fail("name", "is required.");
        else if (name.Length > MaxNameLength)
            Fail("name", $"is longer than {MaxNameLength} characters.");
        return name ?? "";
    }

    CronJobFields? Cron(JsonElement body)
    {
        if (Object(body, "cronJob", "cronJob") is not { } cron)
        {
            if (!Has(body, "cronJob"))
                Fail("cronJob", "is required: {second, minute, hour, dom, month, dow}.");
            return null;
        }
        string Field(string name)
        {
            var value = Text(cron, name, $"cronJob.{name}", numbersAllowed: true);
            if (string.IsNullOrWhiteSpace(value) && !_errors.ContainsKey($"cronJob.{name}"))
                Fail($"cronJob.{name}", "is required (use '*' for every value).");
            return value ?? "";
        }
        return new CronJobFields(Field("second"), Field("minute"), Field("hour"), Field("dom"), Field("month"), Field("dow"));
    }

    CronCallback Callback(JsonElement body)
    {
        if (Object(body, "callback", "callback") is not { } callback)
        {
            if (!Has(body, "callback"))
                Fail("callback", "is required: {url, method, params}.");
            return new CronCallback("", "POST", null);
        }
        var url = Text(callback, "url", "callback.url");
        if (urls.Check(url) is { } refusal)
            Fail("callback.url", refusal);
        var method = (Text(callback, "method", "callback.method") ?? "POST").ToUpperInvariant();
        if (!Methods.Contains(method))
            Fail("callback.method", $"'{method}' is not one of {string.Join(", ", Methods)}.");
        return new CronCallback(url ?? "", method, Params(callback));
    }

    /// <summary>JSON text (as the seed sends it), or a JSON object or array written inline; null or "" is no body.</summary>
    string? Params(JsonElement callback)
    {
        if (!callback.TryGetProperty("params", out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object or JsonValueKind.Array:
                return value.GetRawText();
            case JsonValueKind.String when value.GetString() is { Length: 0 }:
                return null;
            case JsonValueKind.String:
                var text = value.GetString()!;
                try
                {
                    using var _ = JsonDocument.Parse(text);
                    return text;
                }
                catch (JsonException)
                {
                    Fail("callback.params", "must be JSON text (it is sent as the application/json body).");
                    return null;
                }
            default:
                Fail("callback.params", "must be JSON text, or a JSON object or array.");
                return null;
        }
    }

    static bool Has(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    JsonElement? Object(JsonElement obj, string name, string field)
    {
        if (!Has(obj, name))
            return null;
        var value = obj.GetProperty(name);
        if (value.ValueKind == JsonValueKind.Object)
            return value;
        Fail(field, "must be a JSON object.");
        return null;
    }

    string? Text(JsonElement obj, string name, string field, bool numbersAllowed = false)
    {
        if (!Has(obj, name))
            return null;
        var value = obj.GetProperty(name);
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString();
        if (numbersAllowed && value.ValueKind == JsonValueKind.Number)
            return value.GetRawText();
        Fail(field, numbersAllowed ? "must be a string or a number." : "must be a string.");
        return null;
    }

    long? Integer(JsonElement obj, string name, string field, long min, long max, string rule)
    {
        if (!Has(obj, name))
            return null;
        var value = obj.GetProperty(name);
        var text = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.String => value.GetString()!.Trim(),
            _ => null,
        };
        if (text is not null && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            && number >= min && number <= max)
            return number;
        Fail(field, $"{value.GetRawText()} {rule}.");
        return null;
    }

    bool? Boolean(JsonElement obj, string name, string field)
    {
        if (!Has(obj, name))
            return null;
        var value = obj.GetProperty(name);
        switch (value.ValueKind)
        {
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.String when bool.TryParse(value.GetString(), out var parsed):
                return parsed;
            default:
                Fail(field, "must be true or false.");
                return null;
        }
    }

    static DateTimeOffset? UnixOrNull(long seconds) => seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
}
