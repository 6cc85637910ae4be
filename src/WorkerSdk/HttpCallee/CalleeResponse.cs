using System.Text.Json;

namespace TaskHub.Worker.HttpCallee;

/// <summary>
/// Reading a callee's JSON answers. The seed puts <c>poll</c> at the top level and the public
/// project under <c>data</c>; both are read. A poll answer is done when it carries
/// <c>done: true</c> (top level or under <c>data</c>).
/// </summary>
public static class CalleeResponse
{
    public sealed record PollSpec(string Url, HttpMethod Method, TimeSpan Interval);

    public static PollSpec? FindPoll(string body)
    {
        if (!TryParse(body, out var root))
            return null;
        var poll = Child(root, "poll") ?? (Child(root, "data") is { } data ? Child(data, "poll") : null);
        if (poll is not { ValueKind: JsonValueKind.Object } p
            || !p.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(url.GetString()))
            return null;
        var method = p.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(m.GetString())
            ? new HttpMethod(m.GetString()!.ToUpperInvariant())
            : HttpMethod.Get;
        var interval = p.TryGetProperty("interval", out var i) && i.TryGetInt32(out var ms) && ms > 0 ? ms : 1000;
        return new PollSpec(url.GetString()!, method, TimeSpan.FromMilliseconds(Math.Max(50, interval)));
    }

    public static bool IsDone(string body) =>
        TryParse(body, out var root)
        && (IsTrue(Child(root, "done")) || (Child(root, "data") is { ValueKind: JsonValueKind.Object } data && IsTrue(Child(data, "done"))));

    /// <summary>The body as JSON: as it is when it parses, else as a JSON string.</summary>
    public static string AsJson(string body) => TryParse(body, out _) ? body : JsonSerializer.Serialize(body);

    static bool TryParse(string body, out JsonElement root)
    {
        root = default;
        if (string.IsNullOrWhiteSpace(body))
            return false;
        try
        {
            root = JsonDocument.Parse(body).RootElement;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    static JsonElement? Child(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var child) ? child : null;

    static bool IsTrue(JsonElement? element) => element?.ValueKind == JsonValueKind.True;
}
