using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Api.CallbackCenter;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Requests;

/// <summary>
/// <c>Idempotency-Key</c> on the routes that create work (issue 20). The first request with a key runs and
/// its answer is kept in PostgreSQL (<c>idempotency_keys</c>) for <c>Api:IdempotencyWindow</c>; a repeat with
/// the same key and the same request (method, path, query, body) answers that answer again and creates
/// nothing, on any Api instance; the same key with another request is 422. Keys are the API key's own. A
/// repeat that comes while the first is still running waits for its answer. An answer that says the
/// request was not taken (5xx) is not kept, so the request can be sent again. The work a keyed request
/// creates gets an id made from the key (<see cref="IdFor"/>): should an Api die between creating it
/// and keeping the answer, the repeat makes the same id, which the saga and the schedules take once.
/// </summary>
public static class Idempotency
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    const int MaxKeyLength = 255;
    static readonly Guid Namespace = new("0f3c2a9e-5b71-4d8a-a6e4-91d2c7b35e10");
    /// <summary>How long a repeat waits for the first request's answer, and when a first request is taken for dead.</summary>
    static readonly TimeSpan WaitForFirst = TimeSpan.FromSeconds(10), FirstIsDeadAfter = TimeSpan.FromSeconds(30);
    const string IdItem = "taskhub.idempotent-id";

    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder route) =>
        route.AddEndpointFilter(RunAsync)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(new IdempotentMetadata());

    /// <summary>The id of what the request creates: one made from its idempotency key, or a new one.</summary>
    public static Guid IdFor(HttpContext http) => http.Items.TryGetValue(IdItem, out var id) && id is Guid keyed ? keyed : MassTransit.NewId.NextGuid();

    static async ValueTask<object?> RunAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var key = http.Request.Headers[Header].ToString();
        if (key.Length == 0)
            return await next(context);
        if (key.Length > MaxKeyLength || key.Any(c => c < 0x21 || c > 0x7e))
            return Problems.Of(StatusCodes.Status400BadRequest, Header, "The idempotency key is invalid",
                $"{Header} must be 1 to {MaxKeyLength} visible ASCII characters.");

        var services = http.RequestServices;
        var database = services.GetRequiredService<NpgsqlDataSource>();
        var time = services.GetRequiredService<TimeProvider>();
        var window = services.GetRequiredService<IOptions<ApiOptions>>().Value.IdempotencyWindow;
        var owner = Caller.Of(http.User).Owner ?? "";
        var hash = await HashAsync(http.Request);
        http.Items[IdItem] = NameBasedIds.From(Namespace, $"{owner}\n{key}");

        var deadline = time.GetUtcNow() + WaitForFirst;
        while (true)
        {
            var now = time.GetUtcNow();
            // Ours when new, when the kept one has expired, or when its first request died without an answer.
            await using (var claim = database.CreateCommand("""
                INSERT INTO idempotency_keys (owner, key, request_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (owner, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at,
                        expires_at = EXCLUDED.expires_at, status = NULL, content_type = NULL, response = NULL
                    WHERE idempotency_keys.expires_at <= $4
                       OR idempotency_keys.status IS NULL AND idempotency_keys.created_at < $6 AND idempotency_keys.request_hash = EXCLUDED.request_hash
                RETURNING created_at
                """))
            {
                claim.Parameters.AddWithValue(owner);
                claim.Parameters.AddWithValue(key);
                claim.Parameters.AddWithValue(hash);
                claim.Parameters.AddWithValue(now);
                claim.Parameters.AddWithValue(now + window);
                claim.Parameters.AddWithValue(now - FirstIsDeadAfter);
                // The stored time (to the microsecond) identifies this claim from here on.
                if (await claim.ExecuteScalarAsync(http.RequestAborted) is DateTime claimedAt)
                    return await RunFirstAsync(context, next, database, owner, key, claimedAt);
            }

            var kept = await FindAsync(database, owner, key, http.RequestAborted);
            if (kept is null)
                continue; // deleted meanwhile (a 5xx answer): claim it again
            if (!kept.Value.Hash.AsSpan().SequenceEqual(hash))
                return Problems.Of(StatusCodes.Status422UnprocessableEntity, Header, "The idempotency key was used for another request",
                    $"This {Header} came with another method, path, query or body; use a new key for a new request.");
            if (kept.Value.Status is { } status)
                return new Replay(status, kept.Value.ContentType, kept.Value.Response ?? "");
            if (time.GetUtcNow() > deadline)
            {
                http.Response.Headers.RetryAfter = "1";
                return Problems.Of(StatusCodes.Status409Conflict, Header, "The first request with this key is still running",
                    $"Another request with this {Header} has not been answered yet; send it again shortly.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, http.RequestAborted);
        }
    }

    /// <summary>Runs the route, writes its answer into a buffer to keep it, then sends it.</summary>
    static async ValueTask<object?> RunFirstAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, NpgsqlDataSource database,
        string owner, string key, DateTime claimedAt)
    {
        var http = context.HttpContext;
        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await ForgetAsync(database, owner, key, claimedAt);
            throw;
        }
        if (result is not IResult answer)
            return result;
        var original = http.Response.Body;
        using var buffer = new MemoryStream();
        http.Response.Body = buffer;
        try
        {
            await answer.ExecuteAsync(http);
        }
        finally
        {
            http.Response.Body = original;
        }
        var status = http.Response.StatusCode;
        var body = Encoding.UTF8.GetString(buffer.ToArray());
        if (status >= 500)
            await ForgetAsync(database, owner, key, claimedAt);
        else
        {
            await using var keep = database.CreateCommand(
                "UPDATE idempotency_keys SET status = $4, content_type = $5, response = $6 WHERE owner = $1 AND key = $2 AND created_at = $3");
            keep.Parameters.AddWithValue(owner);
            keep.Parameters.AddWithValue(key);
            keep.Parameters.AddWithValue(claimedAt);
            keep.Parameters.AddWithValue(status);
            keep.Parameters.AddWithValue((object?)http.Response.ContentType ?? DBNull.Value);
            keep.Parameters.AddWithValue(body);
            await keep.ExecuteNonQueryAsync(CancellationToken.None);
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(original, http.RequestAborted);
        return Results.Empty;
    }

    static async Task ForgetAsync(NpgsqlDataSource database, string owner, string key, DateTime claimedAt)
    {
        await using var forget = database.CreateCommand("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND created_at = $3 AND status IS NULL");
        forget.Parameters.AddWithValue(owner);
        forget.Parameters.AddWithValue(key);
        forget.Parameters.AddWithValue(claimedAt);
        await forget.ExecuteNonQueryAsync(CancellationToken.None);
    }

    static async Task<(byte[] Hash, int? Status, string? ContentType, string? Response)?> FindAsync(NpgsqlDataSource database, string owner, string key,
        CancellationToken cancellationToken)
    {
        await using var find = database.CreateCommand("SELECT request_hash, status, content_type, response FROM idempotency_keys WHERE owner = $1 AND key = $2");
        find.Parameters.AddWithValue(owner);
        find.Parameters.AddWithValue(key);
        await using var reader = await find.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return ((byte[])reader[0], reader.IsDBNull(1) ? null : reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3));
    }

    /// <summary>The request as the key stands for it: method, path, query and body. The body is read once and left for the route.</summary>
    static async Task<byte[]> HashAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
            sha.AppendData(chunk, 0, read);
        request.Body.Position = 0;
        return sha.GetHashAndReset();
    }

    /// <summary>The kept answer, sent again as it was, saying it is a replay.</summary>
    sealed class Replay(int status, string? contentType, string body) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = status;
            http.Response.Headers[ReplayedHeader] = "true";
            if (contentType is not null)
                http.Response.ContentType = contentType;
            await http.Response.WriteAsync(body, http.RequestAborted);
        }
    }
}

/// <summary>Marks a route that takes <see cref="Idempotency.Header"/> (the OpenAPI document lists the header).</summary>
public sealed record IdempotentMetadata;
