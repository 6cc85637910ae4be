using System.Globalization;
using System.Text.Json;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.Requests;

/// <summary>
/// The fields of one JSON object of a request body, read one by one into <see cref="RequestErrors"/>.
/// One set of rules for every route: <c>null</c> is absent; numbers may come as JSON numbers or numeric
/// strings and booleans as <c>true</c>/<c>"true"</c> (JavaScript and pydantic clients send both); names
/// are non-empty, without control characters. (Model binding would stop at the first wrong type with a
/// message that names no field.) Strings the database cannot hold were refused by <see cref="JsonBody"/>.
/// </summary>
public sealed class JsonFields
{
    /// <summary>Longest queue, group or task name.</summary>
    public const int MaxNameLength = 255;

    static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    readonly JsonElement _object;
    readonly string _prefix;

    internal JsonFields(JsonElement @object, string prefix, RequestErrors errors)
    {
        _object = @object.ValueKind == JsonValueKind.Object ? @object : EmptyObject;
        _prefix = prefix;
        Errors = errors;
    }

    public RequestErrors Errors { get; }

    public bool IsValid => Errors.IsValid;

    public bool Has(string field) => TryGet(field, out _);

    /// <summary>A required queue name or task id: a non-empty string without control characters.</summary>
    public string Name(string field)
    {
        if (TryGet(field, out var value))
            return CheckName(field, value) ?? "";
        Fail(field, "is required.");
        return "";
    }

    public string? OptionalName(string field) => TryGet(field, out var value) ? CheckName(field, value) : null;

    /// <summary>A required array of names; empty only when <paramref name="allowEmpty"/>.</summary>
    public IReadOnlyList<string> Names(string field, int maxCount, bool allowEmpty = false)
    {
        if (!TryGet(field, out var value) || value.ValueKind != JsonValueKind.Array || !allowEmpty && value.GetArrayLength() == 0)
        {
            Fail(field, allowEmpty ? "must be an array of task ids." : "must be a non-empty array of task ids.");
            return [];
        }
        if (value.GetArrayLength() > maxCount)
        {
            Fail(field, $"must name at most {maxCount} task ids.");
            return [];
        }
        return value.EnumerateArray().Select(item => CheckName(field, item) ?? "").Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Free text; <paramref name="numbersAllowed"/> takes a JSON number as its digits (cron fields).</summary>
    public string? Text(string field, int maxLength, bool numbersAllowed = false)
    {
        if (!TryGet(field, out var value))
            return null;
        var text = value.ValueKind switch
        {
            JsonValueKind.String => StringOf(value),
            JsonValueKind.Number when numbersAllowed => value.GetRawText(),
            _ => null,
        };
        if (text is null)
            Fail(field, numbersAllowed ? "must be a string or a number." : "must be a string.");
        else if (text.Length > maxLength)
            Fail(field, $"must be at most {maxLength} characters (was {text.Length}).");
        else
            return text;
        return null;
    }

    /// <summary>A URL the outbound policy allows (<see cref="OutboundUrlPolicy"/>); null when absent.</summary>
    public string? Url(string field, bool required, OutboundUrlPolicy urls)
    {
        if (!TryGet(field, out var value))
        {
            if (required)
                Fail(field, "is required.");
            return null;
        }
        var text = value.ValueKind == JsonValueKind.String ? StringOf(value) : null;
        if (string.IsNullOrEmpty(text) || text.Any(char.IsControl))
            Fail(field, "must be a URL without control characters.");
        else if (urls.Check(text) is { } refusal)
            Fail(field, refusal);
        return text;
    }

    /// <summary>Free JSON; absent is an empty object.</summary>
    public JsonElement Json(string field) => TryGet(field, out var value) ? value : EmptyObject;

    /// <summary>The field's JSON as it came, or null when absent.</summary>
    public JsonElement? OptionalJson(string field) => TryGet(field, out var value) ? value : null;

    /// <summary>Base64 binary; absent is empty.</summary>
    public byte[] Base64(string field)
    {
        if (!TryGet(field, out var value))
            return [];
        if (value.ValueKind == JsonValueKind.String && StringOf(value) is not null && value.TryGetBytesFromBase64(out var bytes))
            return bytes;
        Fail(field, "must be a base64 string.");
        return [];
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; <paramref name="rule"/> says what it means.</summary>
    public long? Integer(string field, long min, long max, string? rule = null)
    {
        if (!TryGet(field, out var value))
            return null;
        if (NumberText(value) is { } text && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            && number >= min && number <= max)
            return number;
        Fail(field, $"{rule ?? $"must be a whole number from {min} to {max}"} (was {Shown(value)}).");
        return null;
    }

    public int Int32(string field, int @default, int min, int max) => (int?)Integer(field, min, max) ?? @default;

    /// <summary>A duration in seconds, fractions allowed; <paramref name="positive"/> excludes zero.</summary>
    public double? Seconds(string field, double max, bool positive = false)
    {
        if (!TryGet(field, out var value))
            return null;
        if (NumberText(value) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && (positive ? seconds > 0 : seconds >= 0) && seconds <= max)
            return seconds;
        Fail(field, $"{(positive ? $"must be a number of seconds above 0 and at most {max}" : $"must be a number of seconds from 0 to {max}")} (was {Shown(value)}).");
        return null;
    }

    public double Seconds(string field, double @default, double max, bool positive = false) => Seconds(field, max, positive) ?? @default;

    public bool? Boolean(string field)
    {
        if (!TryGet(field, out var value))
            return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.String when bool.TryParse(StringOf(value), out var parsed):
                return parsed;
            default:
                Fail(field, $"must be true or false (was {Shown(value)}).");
                return null;
        }
    }

    /// <summary>A cursor as an earlier answer gave it: a string of digits (a plain number is accepted too); "" is the start.</summary>
    public string? Cursor(string field)
    {
        if (!TryGet(field, out var value) || value.ValueKind == JsonValueKind.String && StringOf(value) == "")
            return null;
        if (NumberText(value) is { } text && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return text;
        Fail(field, "must be a cursor from an earlier answer (a string of digits).");
        return null;
    }

    /// <summary>An array, or null when absent.</summary>
    public IReadOnlyList<JsonElement>? Array(string field, string rule)
    {
        if (!TryGet(field, out var value))
            return null;
        if (value.ValueKind == JsonValueKind.Array)
            return [.. value.EnumerateArray()];
        Fail(field, $"{rule} (was {value.ValueKind.ToString().ToLowerInvariant()}).");
        return null;
    }

    /// <summary>A nested object such as <c>config</c>; its fields' errors are named <c>config.field</c>. Absent reads as empty.</summary>
    public JsonFields Object(string field, bool required = false, string? rule = null)
    {
        if (!TryGet(field, out var value))
        {
            if (required)
                Fail(field, rule is null ? "is required." : $"is required: {rule}.");
        }
        else if (value.ValueKind != JsonValueKind.Object)
            Fail(field, "must be a JSON object.");
        return new JsonFields(value, $"{_prefix}{field}.", Errors);
    }

    /// <summary>Item <paramref name="index"/> of the array <paramref name="field"/> as an object; its fields' errors are named <c>field[index].name</c>.</summary>
    public JsonFields Item(string field, int index, JsonElement item)
    {
        var path = $"{field}[{index}]";
        if (item.ValueKind != JsonValueKind.Object)
            Fail(path, "must be a JSON object.");
        return new JsonFields(item, $"{_prefix}{path}.", Errors);
    }

    /// <summary>Fields the route does not know are errors (a typo must not pass as a default).</summary>
    public void OnlyKnown(params string[] known)
    {
        foreach (var property in _object.EnumerateObject())
            if (!known.Contains(property.Name))
                Fail(property.Name, $"is not a known field (known: {string.Join(", ", known)}).");
    }

    public void Require(bool holds, string field, string rule) => Errors.Require(holds, _prefix + field, rule);

    public void Fail(string field, string rule) => Errors.Add(_prefix + field, rule);

    bool TryGet(string field, out JsonElement value) => _object.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    string? CheckName(string field, JsonElement value)
    {
        var text = value.ValueKind == JsonValueKind.String ? StringOf(value) : null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxNameLength || text.Any(char.IsControl))
        {
            Fail(field, $"must be a non-empty string of at most {MaxNameLength} characters without control characters.");
            return null;
        }
        return text;
    }

    static string? NumberText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.String => StringOf(value)?.Trim(),
        _ => null,
    };

    /// <summary>A lone surrogate cannot be decoded; JsonBody has already named it.</summary>
    static string? StringOf(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    static string Shown(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
