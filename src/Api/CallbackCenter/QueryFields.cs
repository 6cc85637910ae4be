using System.Text.Json;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.CallbackCenter;

/// <summary>
/// Reads the seed's query parameters one by one, collecting a message per bad field, so the
/// answer is one ProblemDetails naming every field that is wrong and nothing is created.
/// </summary>
public sealed class QueryFields(IQueryCollection query, OutboundUrlPolicy urls)
{
    public Dictionary<string, string[]> Errors { get; } = new(StringComparer.Ordinal);

    public bool IsValid => Errors.Count == 0;

    public string? Text(string name, int maxLength = 200)
    {
        var value = query[name].ToString();
        if (value.Length == 0)
            return null;
        if (value.Length > maxLength)
            Fail(name, $"must be at most {maxLength} characters");
        return value;
    }

    /// <summary>A URL TaskHub will call: absolute http(s) and on the allowlist. Empty counts as absent, as the seed passes <c>callee: ''</c>.</summary>
    public string? Url(string name, bool required)
    {
        var value = query[name].ToString();
        if (value.Length == 0)
        {
            if (required)
                Fail(name, "is required");
            return null;
        }
        if (urls.Check(value) is { } refusal)
            Fail(name, refusal);
        return value;
    }

    public long? Milliseconds(string name, long min, long max = 365L * 24 * 3600 * 1000) => Number(name, min, max, "milliseconds");

    public long? Number(string name, long min, long max, string unit = "")
    {
        var value = query[name].ToString();
        if (value.Length == 0)
            return null;
        if (!long.TryParse(value, out var number))
        {
            Fail(name, $"must be a whole number{(unit.Length > 0 ? " of " + unit : "")} (was '{value}')");
            return null;
        }
        if (number < min || number > max)
        {
            Fail(name, $"must be between {min} and {max}{(unit.Length > 0 ? " " + unit : "")} (was {number})");
            return null;
        }
        return number;
    }

    public void Fail(string name, string message) => Errors[name] = [message];

    /// <summary>The request body as JSON text; an empty body is <c>{}</c> (the seed posts <c>{}</c> or nothing).</summary>
    public static async Task<(string? Json, string? Error)> ReadJsonBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(cancellationToken);
        if (string.IsNullOrWhiteSpace(text))
            return ("{}", null);
        try
        {
            using var _ = JsonDocument.Parse(text);
            return (text, null);
        }
        catch (JsonException ex)
        {
            return (null, $"must be JSON: {ex.Message}");
        }
    }
}
