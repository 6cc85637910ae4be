using System.Text.Json;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Cron;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.Cron;

/// <summary>
/// Reads <c>/v1/task</c> bodies into the Scheduler's <see cref="CronTaskSpec"/> by <see cref="JsonFields"/>'
/// rules, so a bad request is answered with one 400 naming its fields and schedules nothing.
/// </summary>
public sealed class CronRequestReader(OutboundUrlPolicy urls)
{
    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    public static readonly string[] ReportStatuses = [CronFireStatuses.Success, CronFireStatuses.Failed];

    const int MaxNameLength = 200;
    const int MaxCronFieldLength = 100;
    const int MaxUrlLength = 2048;

    /// <summary>
    /// 2099-12-31T23:59:59Z. Quartz computes cron fire times only up to a century ahead, and the history's
    /// bounds (plus a second) must stay a timestamp; later times are refused, not overflowed.
    /// </summary>
    public const long MaxUnixSeconds = 4_102_444_799;

    /// <summary><c>POST /v1/task</c>, <c>PUT /v1/task/{id}</c>.</summary>
    public CronTaskSpec CronTask(JsonFields body)
    {
        var name = Name(body);
        var count = (int)(body.Integer("count", 0, int.MaxValue, "must be 0 (unlimited) or a positive number of fires") ?? 0);
        var cron = Cron(body);
        var startAt = UnixSeconds(body, "startAt", "must be unix seconds (0 = no start)");
        var stopAt = UnixSeconds(body, "stopAt", "must be unix seconds (0 = no stop)");
        body.Require(startAt is null || stopAt is null || stopAt >= startAt, "stopAt", $"{stopAt} is before startAt {startAt}.");
        var isMultipleEntry = body.Boolean("isMultipleEntry") ?? false;
        var callback = Callback(body);
        return new CronTaskSpec(name, cron, null, count, Time(startAt), Time(stopAt), isMultipleEntry, callback);
    }

    /// <summary><c>POST /v1/task/quick</c>: one fire at <c>time</c>.</summary>
    public CronTaskSpec QuickTask(JsonFields body)
    {
        var name = Name(body);
        var time = body.Integer("time", 0, MaxUnixSeconds, $"must be unix seconds up to {MaxUnixSeconds}");
        body.Require(time is not null || body.Has("time"), "time", "is required (unix seconds; a past time fires now).");
        var callback = Callback(body);
        return new CronTaskSpec(name, null, DateTimeOffset.FromUnixTimeSeconds(time ?? 0), 1, null, null, true, callback);
    }

    /// <summary><c>POST /v1/task/status</c>. A token that is no fire's token is null (answered 404, not 400).</summary>
    public (Guid? Token, string Status) StatusReport(JsonFields body)
    {
        var tokenText = body.Text("taskToken", 100);
        body.Require(tokenText is not null || body.Has("taskToken"), "taskToken", "is required: the X-TaskHub-Token of the fire.");
        var result = body.Object("taskResult", required: true, "{status: SUCCESS | FAILED}");
        var status = result.Text("status", 20)?.ToUpperInvariant() ?? "";
        if (body.Has("taskResult") && !body.Errors.Has("taskResult"))
            result.Require(ReportStatuses.Contains(status), "status", $"must be {string.Join(" or ", ReportStatuses)}.");
        return (Guid.TryParse(tokenText, out var token) ? token : null, status);
    }

    static string Name(JsonFields body)
    {
        var name = body.Text("name", MaxNameLength);
        body.Require(!string.IsNullOrWhiteSpace(name) || body.Errors.Has("name"), "name", "is required.");
        return name ?? "";
    }

    /// <summary>Unix seconds, 0 meaning open: null.</summary>
    static long? UnixSeconds(JsonFields body, string field, string rule) =>
        body.Integer(field, 0, MaxUnixSeconds, $"{rule}, at most {MaxUnixSeconds}") is > 0 and var seconds ? seconds : null;

    static CronJobFields? Cron(JsonFields body)
    {
        if (!body.Has("cronJob"))
        {
            body.Fail("cronJob", "is required: {second, minute, hour, dom, month, dow}.");
            return null;
        }
        var cron = body.Object("cronJob");
        string Field(string name)
        {
            var value = cron.Text(name, MaxCronFieldLength, numbersAllowed: true);
            cron.Require(!string.IsNullOrWhiteSpace(value) || cron.Errors.Has($"cronJob.{name}"), name, "is required (use '*' for every value).");
            return value ?? "";
        }
        return new CronJobFields(Field("second"), Field("minute"), Field("hour"), Field("dom"), Field("month"), Field("dow"));
    }

    CronCallback Callback(JsonFields body)
    {
        var callback = body.Object("callback", required: true, "{url, method, params}");
        if (!body.Has("callback"))
            return new CronCallback("", "POST", null);
        var url = callback.Text("url", MaxUrlLength);
        if (url is null && callback.Errors.Has("callback.url"))
            return new CronCallback("", "POST", null);
        if (url?.Any(char.IsControl) == true)
            callback.Fail("url", "must not contain control characters.");
        else if (urls.Check(url) is { } refusal)
            callback.Fail("url", refusal);
        var method = (callback.Text("method", 10) ?? "POST").ToUpperInvariant();
        callback.Require(Methods.Contains(method), "method", $"'{method}' is not one of {string.Join(", ", Methods)}.");
        return new CronCallback(url ?? "", method, Params(callback));
    }

    /// <summary>JSON text (as the seed sends it), or a JSON object or array written inline; null or "" is no body.</summary>
    static string? Params(JsonFields callback)
    {
        if (callback.OptionalJson("params") is not { } value)
            return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object or JsonValueKind.Array:
                return value.GetRawText();
            case JsonValueKind.String:
                var text = callback.Text("params", int.MaxValue);
                if (string.IsNullOrEmpty(text))
                    return null;
                try
                {
                    using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = JsonBody.MaxDepth });
                    if (TaskHub.Contracts.Tasks.StorableText.RefusalIn(document.RootElement, "") is { } refused)
                        callback.Fail("params", $"holds a string that {refused.Reason}.");
                    return text;
                }
                catch (JsonException)
                {
                    callback.Fail("params", "must be JSON text (it is sent as the application/json body).");
                    return null;
                }
            default:
                callback.Fail("params", "must be JSON text, or a JSON object or array.");
                return null;
        }
    }

    static DateTimeOffset? Time(long? seconds) => seconds is { } s ? DateTimeOffset.FromUnixTimeSeconds(s) : null;
}
