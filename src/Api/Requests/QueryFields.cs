using System.Globalization;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.Requests;

/// <summary>
/// A request's query parameters, read one by one into <see cref="RequestErrors"/> by the same rules as
/// <see cref="JsonFields"/>. An empty value counts as absent (the seed passes <c>callee: ''</c>). A
/// parameter given twice, or holding what cannot be stored, was refused by <see cref="RequestRules"/>.
/// </summary>
public sealed class QueryFields(IQueryCollection query, RequestErrors errors)
{
    public RequestErrors Errors => errors;

    public bool IsValid => errors.IsValid;

    /// <summary>A group or key name: no control characters.</summary>
    public string? Name(string name, int maxLength = JsonFields.MaxNameLength)
    {
        var value = Value(name);
        if (value is null)
            return null;
        if (value.Length > maxLength || value.Any(char.IsControl))
        {
            errors.Add(name, $"must be at most {maxLength} characters without control characters.");
            return null;
        }
        return value;
    }

    /// <summary>A URL TaskHub will call: absolute http(s) and on the allowlist.</summary>
    public string? Url(string name, bool required, OutboundUrlPolicy urls)
    {
        var value = Value(name);
        if (value is null)
        {
            if (required)
                errors.Add(name, "is required.");
            return null;
        }
        if (value.Any(char.IsControl))
            errors.Add(name, "must not contain control characters.");
        else if (urls.Check(value) is { } refusal)
            errors.Add(name, refusal);
        return value;
    }

    public long? Milliseconds(string name, long min, long max = 365L * 24 * 3600 * 1000) =>
        Integer(name, min, max, $"must be a whole number of milliseconds from {min} to {max}");

    public long? Integer(string name, long min, long max, string? rule = null)
    {
        var value = Value(name);
        if (value is null)
            return null;
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
            return number;
        errors.Add(name, $"{rule ?? $"must be a whole number from {min} to {max}"} (was '{Shown(value)}').");
        return null;
    }

    public Guid? Id(string name)
    {
        var value = Value(name);
        if (value is null)
            return null;
        if (Guid.TryParse(value, out var id))
            return id;
        errors.Add(name, $"must be an id (was '{Shown(value)}').");
        return null;
    }

    /// <summary>One of <paramref name="allowed"/> (as written there; case-insensitive).</summary>
    public string? OneOf(string name, IReadOnlyList<string> allowed)
    {
        var value = Value(name);
        if (value is null)
            return null;
        if (allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase)) is { } found)
            return found;
        errors.Add(name, $"must be one of {string.Join(", ", allowed)} (was '{Shown(value)}').");
        return null;
    }

    /// <summary>An ISO 8601 instant with its offset, such as <c>2026-12-01T15:00:00Z</c>.</summary>
    public DateTimeOffset? Instant(string name)
    {
        var value = Value(name);
        if (value is null)
            return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant) && instant.Year is > 1 and < 9999)
            return instant.ToUniversalTime();
        errors.Add(name, $"must be an ISO 8601 instant such as 2026-12-01T15:00:00Z (was '{Shown(value)}').");
        return null;
    }

    /// <summary>Text as given (no rule but the query's own: storable, given once).</summary>
    public string? Text(string name) => Value(name);

    public bool Flag(string name)
    {
        var value = Value(name);
        if (value is null or "false" or "0")
            return false;
        if (value is "true" or "1")
            return true;
        errors.Add(name, $"must be true or false (was '{Shown(value)}').");
        return false;
    }

    public void Require(bool holds, string name, string rule) => errors.Require(holds, name, rule);

    string? Value(string name) => query[name].ToString() is { Length: > 0 } value ? value : null;

    static string Shown(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
