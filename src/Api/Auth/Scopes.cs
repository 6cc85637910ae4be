using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace TaskHub.Api.Auth;

/// <summary>
/// What a key may do. <c>submit</c> creates work (tasks, callbacks, schedules, pull-queue put and call,
/// and a consumer's peek, acquire and reply); <c>read</c> reads state; <c>manage</c> cancels, deletes,
/// replaces, clears; <c>monitor</c> reads everyone's (an operator's dashboard) and changes nothing;
/// <c>admin</c> all of it, on everyone's resources. The others act on their own only.
/// </summary>
public static class Scopes
{
    public const string Submit = "submit";
    public const string Read = "read";
    public const string Manage = "manage";
    public const string Admin = "admin";
    public const string Monitor = "monitor";

    public static readonly string[] All = [Submit, Read, Manage, Admin, Monitor];

    public const string ClaimType = "taskhub:scope";
    public const string QueueClaimType = "taskhub:queue";

    /// <summary>One policy per scope; <c>admin</c> holds every one.</summary>
    public static void AddScopePolicies(AuthorizationOptions options)
    {
        foreach (var scope in All)
            options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(c => c.User.HasClaim(ClaimType, scope) || c.User.HasClaim(ClaimType, Admin)
                    // Reading everyone's includes reading.
                    || scope == Read && c.User.HasClaim(ClaimType, Monitor)));
        // A route without a scope of its own still takes a key.
        options.FallbackPolicy = options.GetPolicy(Read);
    }

    /// <summary>The route takes a key with <paramref name="scope"/>; the OpenAPI document says so (see <see cref="ApiSecurity"/>).</summary>
    public static RouteHandlerBuilder RequireScope(this RouteHandlerBuilder builder, string scope) =>
        builder.RequireAuthorization(scope).WithMetadata(new ScopeMetadata(scope))
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
}

public sealed record ScopeMetadata(string Scope);

/// <summary>
/// Who is calling, as the routes need it: the name recorded as the owner of what it creates, and whether
/// it may act on what others own. Anonymous (development) callers are admins and own nothing.
/// </summary>
public sealed record Caller(string? Name, bool IsAdmin, IReadOnlyList<string> QueuePatterns, bool ReadsAll = false)
{
    public static Caller Of(ClaimsPrincipal user) => new(
        user.Identity?.IsAuthenticated == true && user.Identity.Name is { } name && name != ApiKeyAuthentication.AnonymousName ? name : null,
        user.HasClaim(Scopes.ClaimType, Scopes.Admin),
        user.FindAll(Scopes.QueueClaimType).Select(c => c.Value).ToList(),
        user.HasClaim(Scopes.ClaimType, Scopes.Admin) || user.HasClaim(Scopes.ClaimType, Scopes.Monitor));

    /// <summary>The owner recorded on a new resource.</summary>
    public string? Owner => Name;

    /// <summary>The owner a lookup is narrowed to: null (everyone's) for an admin.</summary>
    public string? OwnerFilter => IsAdmin ? null : Name ?? "";

    /// <summary>The owner what the caller reads is narrowed to: null (everyone's) for an admin or a monitor.</summary>
    public string? ReadFilter => ReadsAll ? null : Name ?? "";

    /// <summary>A pull queue whose counts this caller may see.</summary>
    public bool MayReadQueue(string queue) => ReadsAll || MayUseQueue(queue);

    /// <summary>A pull queue this caller may use: an admin, a key without patterns, or a name matching one.</summary>
    public bool MayUseQueue(string queue) => IsAdmin || QueuePatterns.Count == 0 || QueuePatterns.Any(p => Matches(p, queue));

    static bool Matches(string pattern, string queue) => pattern.EndsWith('*')
        ? queue.StartsWith(pattern[..^1], StringComparison.Ordinal)
        : queue == pattern;
}
