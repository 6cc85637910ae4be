using System.Net;
using Microsoft.Extensions.Options;

namespace TaskHub.Contracts.Outbound;

/// <summary>
/// Decides whether TaskHub may call a URL. The Api checks every URL it is given before it
/// accepts the request; the outbound handler checks again before each call, so a URL that
/// slipped in another way (a chained callback, a poll URL from a callee) is still refused.
/// </summary>
public sealed class OutboundUrlPolicy(IOptionsMonitor<OutboundOptions> options)
{
    /// <summary>Null when <paramref name="url"/> may be called, else why not.</summary>
    public string? Check(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
            return "is required";
        // On Unix "/path" parses as an absolute file URI; it is a relative URL to our users.
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.IsFile)
            return $"'{url}' is not an absolute URL";
        return Check(uri);
    }

    public string? Check(Uri uri)
    {
        var o = options.CurrentValue;
        if (!o.AllowedSchemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase))
            return $"scheme '{uri.Scheme}' is not allowed (allowed: {string.Join(", ", o.AllowedSchemes)})";
        if (uri.IsLoopback)
            return o.AllowLoopback ? null : $"loopback host '{uri.Host}' is not allowed here";
        if (IPAddress.TryParse(uri.IdnHost, out var address))
            return o.AllowedCidrs.Any(c => IPNetwork.TryParse(c, out var net) && net.Contains(address))
                ? null
                : $"address {address} is not in the allowed ranges";
        var host = uri.IdnHost.TrimEnd('.');
        return o.AllowedHosts.Any(pattern => Matches(pattern, host)) ? null : $"host '{host}' is not in the allowlist";
    }

    static bool Matches(string pattern, string host) =>
        pattern == "*"
        || string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase)
        || (pattern.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase));
}
