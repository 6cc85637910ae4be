using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace TaskHub.Api.Requests;

/// <summary>
/// The one shape of every 4xx: ProblemDetails with <c>status</c>, <c>title</c>, <c>detail</c>, and
/// <c>errors</c> keyed by the field, query parameter or header at fault (also under <c>field</c>).
/// </summary>
public static class Problems
{
    public static ProblemHttpResult Of(int status, string field, string title, string detail) => TypedResults.Problem(Details(status, field, title, detail));

    public static ProblemDetails Details(int status, string field, string title, string detail) => Details(status, [field], title, detail);

    /// <summary>A refusal that is the fault of one of <paramref name="fields"/>, not saying which (a wrong token or a wrong id).</summary>
    public static ProblemDetails Details(int status, string[] fields, string title, string detail) =>
        new() { Status = status, Title = title, Detail = detail, Extensions = Extensions(fields, detail) };

    public static ProblemHttpResult NotFound(string field, string title, string detail) => Of(StatusCodes.Status404NotFound, field, title, detail);

    static Dictionary<string, object?> Extensions(string[] fields, string detail) => new()
    {
        ["field"] = fields[0],
        ["errors"] = fields.ToDictionary(f => f, _ => new[] { detail }),
    };

    /// <summary>
    /// The answers the framework makes without a handler (no route, wrong method, wrong media type) as
    /// ProblemDetails. Kestrel's own refusals (a NUL in the path, 414, 431) come before any middleware
    /// and keep their empty bodies; README says so.
    /// </summary>
    public static async Task WriteStatusCodePage(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var (field, title, detail) = status switch
        {
            StatusCodes.Status404NotFound => ("path", "No such route", $"No route matches {http.Request.Path}."),
            StatusCodes.Status405MethodNotAllowed => ("method", "Method not allowed",
                $"{http.Request.Method} is not a method of {http.Request.Path}{AllowedMethods(http)}."),
            StatusCodes.Status415UnsupportedMediaType => ("Content-Type", "The body must be JSON",
                $"Content-Type is '{http.Request.ContentType}'; send the body as application/json."),
            _ => ("request", ReasonPhrase(status), $"The request was answered {status}."),
        };
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = Details(status, [field], title, detail),
        });
    }

    static string AllowedMethods(HttpContext http) =>
        http.Response.Headers.Allow is { Count: > 0 } allow ? $" (it takes {allow})" : "";

    static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase
        ? phrase : "The request was refused";
}

/// <summary>
/// Kestrel's refusals raised while a handler reads the body (over <c>Api:MaxBodyBytes</c>, a broken chunked
/// encoding, a body that stops coming) keep their status and become ProblemDetails naming the body.
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || context.Response.HasStarted)
            return false;
        var tooLarge = bad.StatusCode == StatusCodes.Status413PayloadTooLarge;
        var detail = tooLarge ? "The body is larger than this route takes (Api:MaxBodyBytes)." : bad.Message;
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = Problems.Details(bad.StatusCode, "body", tooLarge ? "The body is too large" : "The request is malformed", detail),
        });
    }
}
