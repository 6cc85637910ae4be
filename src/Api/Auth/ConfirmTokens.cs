using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace TaskHub.Api.Auth;

/// <summary>
/// The capability in the confirm URL TaskHub hands a callee (<c>/task/end/{id}?token=</c>): an HMAC of the
/// task id with <c>Auth:ConfirmKey</c>, so only whoever was given the URL can confirm that task, with no
/// API key. The seed's callee posts to the URL it was given, so it keeps working unchanged.
/// </summary>
public sealed class ConfirmTokens(IOptions<AuthOptions> options)
{
    public const string QueryName = "token";

    /// <summary>The confirm URL a callee of <paramref name="taskId"/> is given: <c>/task/end/{id}?token=</c> on <paramref name="apiBaseUrl"/>.</summary>
    public string CompletionUrl(string apiBaseUrl, Guid taskId) => $"{apiBaseUrl}/task/end/{taskId}?{QueryName}={For(taskId)}";

    public string For(Guid taskId) => Convert.ToBase64String(Mac(taskId)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public bool Confirms(Guid taskId, string? token) =>
        token is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(token), Encoding.ASCII.GetBytes(For(taskId)));

    byte[] Mac(Guid taskId) => HMACSHA256.HashData(Encoding.UTF8.GetBytes(options.Value.ConfirmKey), Encoding.ASCII.GetBytes($"task-end:{taskId:N}"));
}
