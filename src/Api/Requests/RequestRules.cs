using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using TaskHub.Api.CallbackCenter;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Requests;

/// <summary>
/// What every TaskHub route checks before its handler reads anything: each query parameter given once and
/// storable, a body no larger than the route group's <c>Api:MaxBodyBytes</c> (413 before it is read, and
/// counted as it arrives when chunked), and a body sent as <c>application/json</c> (415 otherwise: a form
/// or text body is not read as JSON, which also keeps other web sites' forms out).
/// </summary>
public static class RequestRules
{
    public static RouteGroupBuilder WithRequestRules(this RouteGroupBuilder group, Func<BodyLimits, long> maxBodyBytes)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var limits = context.HttpContext.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxBodyBytes;
            return Refusal(context.HttpContext, maxBodyBytes(limits)) ?? await next(context);
        });
        group.ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return group;
    }

    static IResult? Refusal(HttpContext http, long maxBodyBytes)
    {
        var request = http.Request;
        var errors = new RequestErrors();
        foreach (var (name, values) in request.Query)
        {
            if (StorableText.Refusal(name) is { } badName)
                errors.Add("query", $"has a parameter name that {badName}.");
            else if (values.Count > 1)
                errors.Add(name, $"is given {values.Count} times; it takes one value.");
            else if (StorableText.Refusal(values.ToString()) is { } reason)
                errors.Add(name, reason + ".");
        }
        if (!errors.IsValid)
            return errors.Problem("The query is malformed");

        if (request.ContentLength > maxBodyBytes)
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, "body", "The body is too large",
                $"The body has {request.ContentLength} bytes; this route takes at most {maxBodyBytes} (Api:MaxBodyBytes).");
        var hasBody = request.ContentLength > 0
            || request.ContentLength is null && http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
        if (hasBody && !request.HasJsonContentType())
            return Problems.Of(StatusCodes.Status415UnsupportedMediaType, "Content-Type", "The body must be JSON",
                $"Content-Type is '{request.ContentType}'; send the body as application/json.");
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = maxBodyBytes;
        return null;
    }
}

/// <summary><c>Api:MaxBodyBytes</c>: the largest body each route group takes.</summary>
public sealed class BodyLimits
{
    /// <summary>Every route but the pull queue's: task arguments, callee payloads and results, schedules.</summary>
    public long Default { get; set; } = 1024 * 1024;

    /// <summary>The pull queue's put, call and reply carry their content (base64), often an image or a document.</summary>
    public long PullQueue { get; set; } = 16 * 1024 * 1024;
}
