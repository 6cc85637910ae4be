using Microsoft.AspNetCore.Diagnostics;
using TaskHub.Hosting;
using TaskHub.Hosting.Health;

namespace TaskHub.Api.Health;

/// <summary>
/// A request that met an outage of the broker or the database is not known to be taken: 503 ProblemDetails
/// with <c>Retry-After</c>, so the caller knows to send it again (a 500 would say TaskHub is broken). A
/// submission cut off by <c>Api:BrokerTimeout</c> may still have reached the broker; sent again with the same
/// <c>Idempotency-Key</c> it is the same task (without one, a second).
/// </summary>
public sealed class OutageExceptionHandler(IProblemDetailsService problems, BrokerSends sends, ILogger<OutageExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        // A send cut off by Api:BrokerTimeout (not by the caller going away) met an outage too.
        var brokerTimedOut = exception is OperationCanceledException && !context.RequestAborted.IsCancellationRequested;
        if (!(brokerTimedOut || TransientFaults.IsTransient(exception)) || context.Response.HasStarted)
            return false;
        logger.LogWarning("{Method} {Path} not taken: {Error}", context.Request.Method, context.Request.Path, exception.Message);
        if (brokerTimedOut)
            sends.TimedOut($"{context.Request.Method} {(context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path}");
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "TaskHub cannot take the request now",
                Detail = "The broker or the database did not answer in time, so the request is not known to be taken. Send it again.",
            },
        });
    }
}
