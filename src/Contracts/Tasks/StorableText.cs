using System.Text.Json;

namespace TaskHub.Contracts.Tasks;

/// <summary>
/// What PostgreSQL can store: text and jsonb refuse U+0000 (22021, 22P05), and a lone UTF-16 surrogate has
/// no UTF-8 form (System.Text.Json and Npgsql throw on it). The Api refuses such strings at the edge; the
/// Scheduler fails a task that still carries one (from a .NET producer) instead of losing it.
/// </summary>
public static class StorableText
{
    /// <summary>Why <paramref name="text"/> cannot be stored, or null when it can.</summary>
    public static string? Refusal(string? text)
    {
        if (text is null)
            return null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
                return $"contains a NUL character (U+0000) at position {i}, which cannot be stored";
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (char.IsSurrogate(c))
                return $"contains a lone UTF-16 surrogate (U+{(int)c:X4}) at position {i}, which is not text";
        }
        return null;
    }

    /// <summary>
    /// The first string (value or property name) in JSON text that cannot be stored, with its path
    /// (<c>$[0].a</c>); null when all can. Text without a <c>\u</c> escape is checked without parsing.
    /// </summary>
    public static (string Path, string Reason)? RefusalInJson(string? json)
    {
        if (Refusal(json) is { } raw)
            return ("$", raw);
        if (json is null || !json.Contains("\\u", StringComparison.Ordinal))
            return null;
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
            return RefusalIn(document.RootElement, "$");
        }
        catch (JsonException ex)
        {
            return ("$", $"is not JSON: {ex.Message}");
        }
    }

    /// <summary>The first string in <paramref name="element"/> that cannot be stored, named by its path from <paramref name="path"/>.</summary>
    public static (string Path, string Reason)? RefusalIn(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return ReadString(element, out var text) is { } bad ? (path, bad)
                    : Refusal(text) is { } reason ? (path, reason) : null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                    if (RefusalIn(item, $"{path}[{index++}]") is { } found)
                        return found;
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return (path, "has a property name that is not text (a lone UTF-16 surrogate)");
                    }
                    if (Refusal(name) is { } badName)
                        return (path, $"has a property name that {badName}");
                    if (RefusalIn(property.Value, $"{path}.{name}") is { } found)
                        return found;
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>Replaces what cannot be stored with U+FFFD, for texts TaskHub writes about a task (errors, messages).</summary>
    public static string? Clean(string? text)
    {
        if (Refusal(text) is null)
            return text;
        var chars = text!.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
                i++;
            else if (chars[i] == '\0' || char.IsSurrogate(chars[i]))
                chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    /// <summary>System.Text.Json refuses to decode an escaped lone surrogate.</summary>
    static string? ReadString(JsonElement element, out string? text)
    {
        try
        {
            text = element.GetString();
            return null;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return "contains a lone UTF-16 surrogate, which is not text";
        }
    }
}
