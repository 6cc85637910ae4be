using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// One request's JSON body, read field by field. Every missing or ill-shaped field is collected, so a
/// bad request is answered with one 400 naming all of them and changes nothing. (Model binding
/// would stop at the first wrong type with a message that names no field.) <c>null</c> counts as absent.
/// </summary>
public sealed class RequestBody
{
    /// <summary>Longest queue name or task id.</summary>
    public const int MaxNameLength = 255;

    static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    readonly JsonElement _object;
    readonly string _prefix;
    readonly Dictionary<string, string[]> _errors;

    RequestBody(JsonElement @object, string prefix, Dictionary<string, string[]> errors)
    {
        _object = @object;
        _prefix = prefix;
        _errors = errors;
    }

    public static async Task<RequestBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            var root = document.RootElement.Clone();
            if (root.ValueKind != JsonValueKind.Object)
                errors["body"] = ["The body must be a JSON object."];
            return new RequestBody(root, "", errors);
        }
        catch (JsonException ex)
        {
            errors["body"] = [$"The body is not valid JSON: {ex.Message}"];
            return new RequestBody(default, "", errors);
        }
    }

    public bool IsValid => _errors.Count == 0;

    /// <summary>The 400 answer: every bad field under <c>errors</c>, and the first one under <c>field</c>.</summary>
    public ValidationProblem Problem() => TypedResults.ValidationProblem(_errors,
        title: "The request is malformed.",
        extensions: new Dictionary<string, object?> { ["field"] = _errors.Keys.First() });

    /// <summary>A required queue name or task id: a non-empty string without control characters.</summary>
    public string Name(string field)
    {
        if (!TryGet(field, out var value))
        {
            Fail(field, "is required.");
            return "";
        }
        return CheckName(field, value);
    }

    public string? OptionalName(string field) => TryGet(field, out var value) ? CheckName(field, value) : null;

    /// <summary>A required, non-empty array of names.</summary>
    public IReadOnlyList<string> Names(string field, int maxCount)
    {
        if (!TryGet(field, out var value) || value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            Fail(field, "must be a non-empty array of task ids.");
            return [];
        }
        if (value.GetArrayLength() > maxCount)
        {
            Fail(field, $"must name at most {maxCount} task ids.");
            return [];
        }
        return value.EnumerateArray().Select(item => CheckName(field, item)).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Free JSON; absent is an empty object.</summary>
    public JsonElement Json(string field) => TryGet(field, out var value) ? value : EmptyObject;

    /// <summary>Base64 binary; absent is empty.</summary>
    public byte[] Base64(string field)
    {
        if (!TryGet(field, out var value))
            return [];
        if (value.ValueKind == JsonValueKind.String && value.TryGetBytesFromBase64(out var bytes))
            return bytes;
        Fail(field, "must be a base64 string.");
        return [];
    }

    public int Integer(string field, int @default, int min, int max) => OptionalInteger(field, min, max) ?? @default;

    public int? OptionalInteger(string field, int min, int max)
    {
        if (!TryGet(field, out var value))
            return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number >= min && number <= max)
            return number;
        Fail(field, $"must be an integer from {min} to {max}.");
        return null;
    }

    /// <summary>A duration in seconds, fractions allowed; <paramref name="positive"/> excludes zero.</summary>
    public double Seconds(string field, double @default, double max, bool positive = false) =>
        OptionalSeconds(field, max, positive) ?? @default;

    public double? OptionalSeconds(string field, double max, bool positive = false)
    {
        if (!TryGet(field, out var value))
            return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds)
            && (positive ? seconds > 0 : seconds >= 0) && seconds <= max)
            return seconds;
        Fail(field, positive ? $"must be a number of seconds above 0 and at most {max}." : $"must be a number of seconds from 0 to {max}.");
        return null;
    }

    /// <summary>A peek cursor as an earlier answer gave it: a string of digits (a plain number is accepted too); "" is the start.</summary>
    public string? Cursor(string field)
    {
        if (!TryGet(field, out var value) || value.ValueKind == JsonValueKind.String && value.GetString() == "")
            return null;
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        if (text is not null && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return text;
        Fail(field, "must be a cursor from an earlier peek (a string of digits).");
        return null;
    }

    /// <summary>A nested object such as <c>config</c>; its fields' errors are named <c>config.field</c>. Absent reads as empty.</summary>
    public RequestBody Object(string field)
    {
        if (!TryGet(field, out var value))
            return new RequestBody(EmptyObject, $"{_prefix}{field}.", _errors);
        if (value.ValueKind != JsonValueKind.Object)
        {
            Fail(field, "must be a JSON object.");
            return new RequestBody(EmptyObject, $"{_prefix}{field}.", _errors);
        }
        return new RequestBody(value, $"{_prefix}{field}.", _errors);
    }

    /// <summary>Records an error on <paramref name="field"/> unless <paramref name="holds"/>: for rules between fields.</summary>
    public void Require(bool holds, string field, string message)
    {
        if (!holds)
            Fail(field, message);
    }

    bool TryGet(string field, out JsonElement value)
    {
        value = default;
        return _object.ValueKind == JsonValueKind.Object && _object.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;
    }

    string CheckName(string field, JsonElement value)
    {
        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxNameLength || text.Any(char.IsControl))
        {
            Fail(field, $"must be a non-empty string of at most {MaxNameLength} characters without control characters.");
            return "";
        }
        return text;
    }

    void Fail(string field, string message)
    {
        var key = _prefix + field;
        var error = $"'{key}' {message}";
        if (!_errors.TryGetValue(key, out var earlier))
            _errors[key] = [error];
        else if (!earlier.Contains(error))
            _errors[key] = [.. earlier, error];
    }
}
