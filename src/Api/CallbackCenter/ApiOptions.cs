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

    public string BaseUrlFor(HttpRequest request) =>
        string.IsNullOrWhiteSpace(PublicBaseUrl) ? $"{request.Scheme}://{request.Host}" : PublicBaseUrl.TrimEnd('/');
}
