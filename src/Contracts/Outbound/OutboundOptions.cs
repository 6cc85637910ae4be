using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Options;

namespace TaskHub.Contracts.Outbound;

/// <summary>
/// The <c>Outbound</c> section: which URLs TaskHub may call (callee, callback, poll, cron
/// callback) and the key it signs every request with.
/// </summary>
public sealed class OutboundOptions
{
    public const string Section = "Outbound";

    /// <summary>The key of the documented development default; production refuses to start with it or without one.</summary>
    public const string DevelopmentSigningKey = "taskhub-development-signing-key-change-me";

    /// <summary>Host names allowed; <c>*.example.com</c> allows its subdomains, <c>*</c> allows every name.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Address ranges allowed for IP-literal URLs, e.g. <c>10.0.0.0/8</c>.</summary>
    public List<string> AllowedCidrs { get; set; } = [];

    public List<string> AllowedSchemes { get; set; } = ["http", "https"];

    /// <summary>Loopback (localhost, 127.0.0.0/8, ::1): on in the development profile only.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>HMAC-SHA256 and JWT (HS256) key; at least 32 characters.</summary>
    public string SigningKey { get; set; } = "";

    /// <summary>Seconds one outbound request may take.</summary>
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Per host (as in the URL, lower case), how often TaskHub may start a call to it, cluster-wide: <c>Outbound:RateLimits:&lt;host&gt;</c>
    /// = <c>20/s</c> (<see cref="RateLimit"/>).
    /// </summary>
    public Dictionary<string, string> RateLimits { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The limit on calls to <paramref name="url"/>'s host, if it has one.</summary>
    public RateLimit? RateLimitFor(Uri url) =>
        RateLimits.TryGetValue(url.IdnHost, out var text) && RateLimit.TryParse(text, out var limit) ? limit : null;
}

public sealed class OutboundOptionsValidator(IHostEnvironment environment) : IValidateOptions<OutboundOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboundOptions o)
    {
        var errors = new List<string>();
        const string s = OutboundOptions.Section;
        if (o.SigningKey.Length < 32)
            errors.Add($"{s}:SigningKey must be set to at least 32 characters (outbound requests are signed with it).");
        else if (o.SigningKey == OutboundOptions.DevelopmentSigningKey && !environment.IsDevelopment())
            errors.Add($"{s}:SigningKey is the documented development key; set a secret key outside the Development environment.");
        foreach (var cidr in o.AllowedCidrs)
            if (!IPNetwork.TryParse(cidr, out _))
                errors.Add($"{s}:AllowedCidrs has '{cidr}', which is not a CIDR range such as 10.0.0.0/8.");
        foreach (var scheme in o.AllowedSchemes)
            if (scheme is not ("http" or "https"))
                errors.Add($"{s}:AllowedSchemes has '{scheme}'; only http and https are supported.");
        if (o.TimeoutSeconds is < 1 or > 3600)
            errors.Add($"{s}:TimeoutSeconds must be between 1 and 3600 (was {o.TimeoutSeconds}).");
        foreach (var (host, limit) in o.RateLimits)
            if (!RateLimit.TryParse(limit, out _))
                errors.Add($"{s}:RateLimits:{host} must be {RateLimit.Forms} (was '{limit}').");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
