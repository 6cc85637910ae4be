using System.Text;
using System.Text.Json;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Requests;

/// <summary>
/// A request's JSON body, read once: an empty body is <c>{}</c> (the seeds post <c>{}</c> or nothing),
/// nesting is bounded, and every string in it (values and property names) must be one PostgreSQL and the
/// JSON writer can hold: a NUL or a lone surrogate is refused at the edge, naming where it is, rather than
/// accepted and lost further on. Its size was bounded by <see cref="RequestRules"/> before it was read.
/// </summary>
public sealed class JsonBody
{
    /// <summary>
    /// Deep enough for any real payload; shallow enough that the envelope the bus wraps around it stays
    /// within the serializers' limit of 64.
    /// </summary>
    public const int MaxDepth = 32;

    static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth };

    readonly ReadOnlyMemory<byte> _bytes;

    JsonBody(JsonElement root, ReadOnlyMemory<byte> bytes, RequestErrors errors)
    {
        Root = root;
        _bytes = bytes;
        Errors = errors;
    }

    public JsonElement Root { get; }

    /// <summary>The body as it came (for routes that pass it on verbatim); <c>{}</c> when empty or unreadable.</summary>
    public string Text => _bytes.IsEmpty ? "{}" : Encoding.UTF8.GetString(_bytes.Span);

    public RequestErrors Errors { get; }

    /// <summary>The root object's fields; a root that is not an object is a <c>body</c> error.</summary>
    public JsonFields Fields()
    {
        if (Errors.IsValid && Root.ValueKind != JsonValueKind.Object)
            Errors.Add("body", "must be a JSON object.");
        return new JsonFields(Root, "", Errors);
    }

    /// <summary>A body of fields (<see cref="Fields"/>): a bad string is named by its field, <c>args[0].a</c>.</summary>
    public static Task<JsonBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken) =>
        ReadAsync(request, payload: false, new RequestErrors(), cancellationToken);

    /// <summary>A body passed on as it is (a callee's payload, a result): a bad string is named under <c>body</c>, <c>body.a</c>.</summary>
    public static Task<JsonBody> ReadPayloadAsync(HttpRequest request, RequestErrors errors, CancellationToken cancellationToken) =>
        ReadAsync(request, payload: true, errors, cancellationToken);

    static async Task<JsonBody> ReadAsync(HttpRequest request, bool payload, RequestErrors errors, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (IsBlank(bytes.Span))
            return Empty(errors);
        try
        {
            using var document = JsonDocument.Parse(bytes, Options);
            var root = document.RootElement.Clone();
            // The parser refuses raw control characters, so in valid UTF-8 a NUL or a lone surrogate can only come
            // as a \u escape: a body without one (nearly all) needs no walk through its strings.
            if ((bytes.Span.IndexOf("\\u"u8) >= 0 || !System.Text.Unicode.Utf8.IsValid(bytes.Span))
                && StorableText.RefusalIn(root, "") is { } refused)
                errors.Add(payload ? "body" + refused.Path : FieldAt(refused.Path), refused.Reason + ".");
            return new JsonBody(root, bytes, errors);
        }
        catch (JsonException ex)
        {
            errors.Add("body", $"is not valid JSON: {ex.Message}");
            return Empty(errors);
        }
    }

    /// <summary>A path from the root (<c>.args[0].a</c>) as the field it names (<c>args[0].a</c>); the root itself is <c>body</c>.</summary>
    static string FieldAt(string path) => path.Length == 0 || path[0] == '[' ? "body" + path : path[1..];

    static JsonBody Empty(RequestErrors errors) => new(EmptyObject, ReadOnlyMemory<byte>.Empty, errors);

    static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    static bool IsBlank(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                return false;
        return true;
    }
}
