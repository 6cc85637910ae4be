namespace TaskHub.Api.Dashboard;

/// <summary>
/// The dashboard's sign-in: the API key in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), so page
/// scripts never hold it and no other site's page sends it. A request it authenticates that changes
/// something must also carry <see cref="CsrfHeader"/>: a cross-site form cannot set a header, and a
/// cross-site script that could would need CORS with credentials, which TaskHub never allows.
/// </summary>
public static class DashboardCookie
{
    public const string Name = "taskhub_key";
    public const string CsrfHeader = "X-TaskHub-Csrf";

    public static string? Key(HttpRequest request) => request.Cookies[Name] is { Length: > 0 } key ? key : null;

    public static void Set(HttpResponse response, string key) => response.Cookies.Append(Name, key, Options(response.HttpContext.Request));

    public static void Clear(HttpResponse response) => response.Cookies.Delete(Name, Options(response.HttpContext.Request));

    static CookieOptions Options(HttpRequest request) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = "/",
        // A browser session: closing the browser signs out.
        IsEssential = true,
    };

    /// <summary>
    /// Refuses (403) a state-changing request that only the cookie authenticates and that lacks the CSRF
    /// header. Requests with a key in a header, and reads, pass untouched.
    /// </summary>
    public static IApplicationBuilder UseDashboardCsrfCheck(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        var unsafeMethod = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
        // Signing in again (another key) replaces the cookie; the form cannot carry the header.
        if (unsafeMethod && Key(request) is not null && !request.Headers.ContainsKey(CsrfHeader) && request.Path != "/dashboard/signin"
            && !request.Headers.ContainsKey("Authorization") && !request.Headers.ContainsKey(Auth.ApiKeyAuthentication.ApiKeyHeader))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = Requests.Problems.Details(StatusCodes.Status403Forbidden, CsrfHeader, "Cross-site request refused",
                    $"A request signed in by the dashboard's cookie must carry the {CsrfHeader} header to change anything."),
            });
            return;
        }
        await next();
    });
}
