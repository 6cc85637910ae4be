using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using TaskHub.Api.Requests;

namespace TaskHub.Api.CallbackCenter;

/// <summary>The <c>Api</c> section.</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// The base URL callees use to reach this Api (for <c>/task/end/{id}</c>). Required outside the
    /// development profile; there, empty is the address the Api listens on. Never the request's Host
    /// header, which any caller can set.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>The largest body each route group takes (<c>Api:MaxBodyBytes:Default</c>, <c>Api:MaxBodyBytes:PullQueue</c>).</summary>
    public BodyLimits MaxBodyBytes { get; set; } = new();

    /// <summary>How long the answer to a request with an <c>Idempotency-Key</c> is kept to answer its repeats (24 h).</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a request waits for the broker to take what it sends. MassTransit holds a send while its
    /// connection is down; past this the caller gets 503 instead of waiting for its own timeout.
    /// </summary>
    public TimeSpan BrokerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// One send of a request, given a token that is the request's own bounded by <see cref="BrokerTimeout"/>, and not
    /// awaited past it either: after a broker restart MassTransit can hold a send without heeding its token.
    /// </summary>
    public async Task WithinBrokerTimeout(Func<CancellationToken, Task> send, CancellationToken request)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(request);
        deadline.CancelAfter(BrokerTimeout);
        await send(deadline.Token).WaitAsync(deadline.Token);
    }

    /// <summary>Where callees reach this Api: <see cref="PublicBaseUrl"/>, else (development) the first address it listens on.</summary>
    public string BaseUrl(IServer server)
    {
        if (!string.IsNullOrWhiteSpace(PublicBaseUrl))
            return PublicBaseUrl.TrimEnd('/');
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Api:PublicBaseUrl is not set and the Api listens on no address.");
        // A wildcard binding is no address to call: on this machine it answers at localhost.
        return address.Replace("://0.0.0.0", "://localhost").Replace("://[::]", "://localhost").Replace("://+", "://localhost")
            .Replace("://*", "://localhost").TrimEnd('/');
    }
}
