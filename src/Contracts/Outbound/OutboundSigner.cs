using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace TaskHub.Contracts.Outbound;

/// <summary>
/// Signs outbound requests so receivers can tell they came from TaskHub:
/// <c>X-TaskHub-Signature: sha256=hex(HMAC-SHA256(key, timestamp + "." + body))</c> with
/// <c>X-TaskHub-Timestamp</c> (unix seconds), and, where a receiver verifies a JWT (seed 003),
/// an HS256 token with the same key.
/// </summary>
public sealed class OutboundSigner(IOptionsMonitor<OutboundOptions> options, TimeProvider time)
{
    public const string SignatureHeader = "X-TaskHub-Signature";
    public const string TimestampHeader = "X-TaskHub-Timestamp";
    public const string TaskIdHeader = "X-TaskHub-Task-Id";

    public string Sign(long timestamp, ReadOnlySpan<byte> body)
    {
        var key = Encoding.UTF8.GetBytes(options.CurrentValue.SigningKey);
        var prefix = Encoding.UTF8.GetBytes($"{timestamp}.");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, message));
    }

    /// <summary>Whether <paramref name="signature"/> is this TaskHub's signature of the request (made with its own key).</summary>
    public bool Verifies(string signature, long timestamp, ReadOnlySpan<byte> body) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(Sign(timestamp, body)));

    /// <summary>An HS256 JWT with <paramref name="claims"/> plus <c>iat</c> and <c>exp</c>.</summary>
    public string CreateJwt(IReadOnlyDictionary<string, object?> claims, TimeSpan lifetime)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var payload = new Dictionary<string, object?>(claims) { ["iat"] = now, ["exp"] = now + (long)lifetime.TotalSeconds };
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var body = Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload));
        var key = Encoding.UTF8.GetBytes(options.CurrentValue.SigningKey);
        var signature = Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes($"{header}.{body}")));
        return $"{header}.{body}.{signature}";
    }

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
