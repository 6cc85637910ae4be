using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Api.Dashboard;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.Auth;

/// <summary>
/// Authenticates a request by its API key (<c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key</c>),
/// compared as SHA-256 hashes in constant time against every configured key. A request TaskHub makes to
/// itself (a callback URL that is a TaskHub route: a chain) is known by its outbound signature and acts for
/// the owner of the task it belongs to, with <c>submit</c>. The dashboard's sign-in keeps the key in a cookie
/// (<see cref="DashboardCookie"/>), read when no header carries one. Without a key: anonymous when
/// <c>Auth:AllowAnonymous</c>, else 401. Refusals are ProblemDetails naming <c>Authorization</c>.
/// </summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> scheme,
    ILoggerFactory loggers,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth,
    ApiKeys keys,
    OutboundSigner outbound,
    NpgsqlDataSource database,
    IProblemDetailsService problems,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(scheme, loggers, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string AnonymousName = "anonymous";
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>How old a TaskHub-signed request may be: as long as an outbound request may take, and some.</summary>
    static readonly TimeSpan SelfCallFreshness = TimeSpan.FromMinutes(5);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey() ?? DashboardCookie.Key(Request);
        if (presented is not null)
            return keys.Find(presented) is { } key
                ? Success(key.Name, key.Scopes, key.Queues)
                : AuthenticateResult.Fail("The API key is not valid.");
        if (await SelfCallAsync() is { } selfCall)
            return Success(selfCall.Owner ?? AnonymousName, [Scopes.Submit], []);
        return auth.Value.AllowAnonymous ? Success(AnonymousName, [Scopes.Admin], []) : AuthenticateResult.NoResult();
    }

    string? PresentedKey()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return header["Bearer ".Length..].Trim();
        return Request.Headers[ApiKeyHeader].ToString() is { Length: > 0 } key ? key : null;
    }

    sealed record SelfCall(string? Owner);

    /// <summary>A request TaskHub signed, acting for the owner of its task; null when the request is not TaskHub's.</summary>
    async Task<SelfCall?> SelfCallAsync()
    {
        var signature = Request.Headers[OutboundSigner.SignatureHeader].ToString();
        if (signature.Length == 0 || !long.TryParse(Request.Headers[OutboundSigner.TimestampHeader], out var timestamp)
            || Math.Abs(time.GetUtcNow().ToUnixTimeSeconds() - timestamp) > SelfCallFreshness.TotalSeconds)
            return null;
        Request.EnableBuffering();
        using var buffer = new MemoryStream();
        await Request.Body.CopyToAsync(buffer, Context.RequestAborted);
        Request.Body.Position = 0;
        if (!outbound.Verifies(signature, timestamp, buffer.ToArray()))
            return null;
        if (!Guid.TryParse(Request.Headers[OutboundSigner.TaskIdHeader], out var taskId))
            return new SelfCall(null);
        await using var command = database.CreateCommand("SELECT owner FROM tasks WHERE id = $1");
        command.Parameters.AddWithValue(taskId);
        return new SelfCall(await command.ExecuteScalarAsync(Context.RequestAborted) as string);
    }

    static AuthenticateResult Success(string name, IEnumerable<string> scopes, IEnumerable<string> queues)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        claims.AddRange(scopes.Select(s => new Claim(Scopes.ClaimType, s)));
        claims.AddRange(queues.Select(q => new Claim(Scopes.QueueClaimType, q)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteAsync(StatusCodes.Status401Unauthorized, "An API key is required",
            PresentedKey() is null
                ? $"Send a key as 'Authorization: Bearer <key>' or '{ApiKeyHeader}: <key>'."
                : "The API key is not valid.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var scope = Context.GetEndpoint()?.Metadata.GetMetadata<ScopeMetadata>()?.Scope ?? Scopes.Read;
        return WriteAsync(StatusCodes.Status403Forbidden, "The API key may not do this",
            $"This route needs a key with the '{scope}' scope (or 'admin').");
    }

    async Task WriteAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = Problems.Details(status, "Authorization", title, detail),
        });
    }
}

/// <summary>The configured keys with their SHA-256, made once at start rather than on every request.</summary>
public sealed class ApiKeys(IOptions<AuthOptions> options)
{
    public IReadOnlyList<(ApiKeyOptions Key, byte[] Hash)> All { get; } = options.Value.Keys
        .Select(k => (k, k.Hash is { } hex ? Convert.FromHexString(hex) : SHA256.HashData(Encoding.UTF8.GetBytes(k.Key ?? ""))))
        .ToList();

    /// <summary>The key presented, or null. Every configured key is compared, so the time taken does not tell which (or whether one) came close.</summary>
    public ApiKeyOptions? Find(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKeyOptions? found = null;
        foreach (var (key, expected) in All)
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
                found = key;
        return found;
    }
}
