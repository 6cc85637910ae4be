using System.Globalization;
using Microsoft.Extensions.Options;

namespace TaskHub.Api.Auth;

/// <summary>
/// The <c>Auth</c> section: who may call the Api. Outside the development profile every route but the
/// capability ones (a callee's confirm, a cron receiver's report) takes an API key.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The documented development key for confirm URLs; any other environment refuses to start with it.</summary>
    public const string DevelopmentConfirmKey = "taskhub-development-confirm-key-change-me";

    /// <summary>No key needed: every caller acts as an admin and owns nothing. The development profile turns it on, so the seeds' snippets run as written.</summary>
    public bool AllowAnonymous { get; set; }

    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary>The secret (32+ characters) the confirm URL's token is an HMAC with: <c>/task/end/{id}?token=</c>.</summary>
    public string ConfirmKey { get; set; } = "";

    /// <summary>Requests each key (or each address, unauthenticated) may make; <c>PerSecond</c> 0 turns it off.</summary>
    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>Web origins allowed to call the Api from a browser (CORS); empty: none.</summary>
    public List<string> CorsOrigins { get; set; } = [];
}

/// <summary><c>Auth:Keys:&lt;n&gt;</c>: one caller. <c>Hash</c> is the SHA-256 (hex) of the key; a plain <c>Key</c> is for development.</summary>
public sealed class ApiKeyOptions
{
    public string Name { get; set; } = "";
    public string? Hash { get; set; }
    public string? Key { get; set; }
    public List<string> Scopes { get; set; } = [];

    /// <summary>Pull-queue names this key may use (<c>gpu-*</c>); empty: every queue.</summary>
    public List<string> Queues { get; set; } = [];
}

public sealed class RateLimitOptions
{
    public int PerSecond { get; set; } = 100;
    public int Burst { get; set; } = 200;
}

public sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions o)
    {
        const string s = AuthOptions.Section;
        var errors = new List<string>();
        if (!o.AllowAnonymous && o.Keys.Count == 0)
            errors.Add($"{s}:Keys must hold at least one key ({s}:Keys:0:Name, :Hash, :Scopes) unless {s}:AllowAnonymous is true; " +
                "mint one with: dotnet TaskHub.Api.dll keys new <name> <scope>...");
        for (var i = 0; i < o.Keys.Count; i++)
        {
            var key = o.Keys[i];
            var at = $"{s}:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
                errors.Add($"{at}:Name is required (it is recorded as the owner of what the key creates).");
            else if (o.Keys.Count(k => k.Name == key.Name) > 1)
                errors.Add($"{at}:Name '{key.Name}' is given to more than one key.");
            if (key.Hash is null == key.Key is null)
                errors.Add($"{at} needs exactly one of Hash (SHA-256 hex of the key) and Key (the key itself, development only).");
            else if (key.Hash is not null && !(key.Hash.Length == 64 && key.Hash.All(Uri.IsHexDigit)))
                errors.Add($"{at}:Hash must be 64 hex digits (the SHA-256 of the key).");
            else if (key.Key is not null && !environment.IsDevelopment())
                errors.Add($"{at}:Key holds a key in plain text, which only the development profile accepts; give {at}:Hash instead.");
            else if (key.Key is { Length: < 16 })
                errors.Add($"{at}:Key must be at least 16 characters.");
            if (key.Scopes.Count == 0)
                errors.Add($"{at}:Scopes must name at least one of {string.Join(", ", Scopes.All)}.");
            foreach (var scope in key.Scopes.Where(scope => !Scopes.All.Contains(scope)))
                errors.Add($"{at}:Scopes has '{scope}', which is not one of {string.Join(", ", Scopes.All)}.");
        }
        if (o.ConfirmKey.Length < 32)
            errors.Add($"{s}:ConfirmKey must be set to at least 32 characters (confirm URLs carry an HMAC made with it).");
        else if (o.ConfirmKey == AuthOptions.DevelopmentConfirmKey && !environment.IsDevelopment())
            errors.Add($"{s}:ConfirmKey is the documented development key; set a secret key outside the Development environment.");
        if (o.RateLimit.PerSecond < 0 || o.RateLimit.Burst < o.RateLimit.PerSecond)
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{s}:RateLimit:PerSecond must be 0 (off) or more, and {s}:RateLimit:Burst at least as much (were {o.RateLimit.PerSecond}, {o.RateLimit.Burst})."));
        foreach (var origin in o.CorsOrigins.Where(origin => !Uri.TryCreate(origin, UriKind.Absolute, out _)))
            errors.Add($"{s}:CorsOrigins has '{origin}', which is not an origin such as https://app.example.com.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
