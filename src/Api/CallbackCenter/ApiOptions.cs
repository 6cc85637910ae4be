namespace TaskHub.Api.CallbackCenter;

/// <summary>The <c>Api</c> section.</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// The base URL callees use to reach this Api (for <c>/task/end/{id}</c>). Empty: taken from
    /// each request's scheme and Host, which is right unless a proxy rewrites them.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// How long a request waits for the broker to take what it sends. MassTransit holds a send while its
    /// connection is down; past this the caller gets 503 instead of waiting for its own timeout.
    /// </summary>
    public TimeSpan BrokerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A token for one send of a request: the request's own, bounded by <see cref="BrokerTimeout"/>.</summary>
    public CancellationTokenSource BrokerDeadline(CancellationToken request)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(request);
        deadline.CancelAfter(BrokerTimeout);
        return deadline;
    }

    public string BaseUrlFor(HttpRequest request) =>
        string.IsNullOrWhiteSpace(PublicBaseUrl) ? $"{request.Scheme}://{request.Host}" : PublicBaseUrl.TrimEnd('/');
}
