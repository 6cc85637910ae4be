using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskHub.Api.Auth;

namespace TaskHub.Api.Dashboard;

/// <summary>
/// The dashboard at <c>/dashboard</c>: static files built into the Api (no build step, no third-party
/// script), which read the operations routes like any client. Sign-in and sign-out set and clear
/// <see cref="DashboardCookie"/>.
/// </summary>
public static class DashboardEndpoints
{
    const string ResourcePrefix = "dashboard/";

    static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    /// <summary>The page's own script and styles only; nothing may frame it.</summary>
    const string ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        var dashboard = app.MapGroup("/dashboard").ExcludeFromDescription().AllowAnonymous();
        // Also /dashboard/: routing takes a trailing slash as the same route.
        dashboard.MapGet("", () => File("index.html"));
        dashboard.MapGet("/{file}", (string file) => File(file));
        dashboard.MapPost("/signin", SignIn).DisableAntiforgery();
        dashboard.MapPost("/signout", (HttpResponse response) =>
        {
            DashboardCookie.Clear(response);
            return TypedResults.NoContent();
        });
        return app;
    }

    /// <summary>A form post (<c>key=…</c>): a valid key is kept in the cookie; either way back to the dashboard, which says how it went.</summary>
    static async Task<RedirectHttpResult> SignIn(HttpRequest request, ApiKeys keys)
    {
        var form = request.HasFormContentType ? await request.ReadFormAsync() : null;
        var key = form?["key"].ToString().Trim();
        if (string.IsNullOrEmpty(key) || keys.Find(key) is null)
            return TypedResults.Redirect("/dashboard?signin=failed");
        DashboardCookie.Set(request.HttpContext.Response, key);
        return TypedResults.Redirect("/dashboard");
    }

    static IResult File(string name)
    {
        var extension = Path.GetExtension(name);
        if (!ContentTypes.TryGetValue(extension, out var contentType)
            || typeof(DashboardEndpoints).Assembly.GetManifestResourceStream(ResourcePrefix + name) is not { } stream)
            return Requests.Problems.NotFound("file", "Not found", $"The dashboard has no file '{name}'.");
        return new DashboardFile(stream, contentType);
    }

    /// <summary>A dashboard file with the headers every one of them carries.</summary>
    sealed class DashboardFile(Stream stream, string contentType) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.CacheControl = "no-cache";
            headers["Referrer-Policy"] = "no-referrer";
            http.Response.ContentType = contentType;
            await using (stream)
                await stream.CopyToAsync(http.Response.Body, http.RequestAborted);
        }
    }
}
