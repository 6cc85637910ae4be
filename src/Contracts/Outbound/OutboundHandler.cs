using Microsoft.Extensions.Options;

namespace TaskHub.Contracts.Outbound;

/// <summary>
/// Every request through the outbound <see cref="HttpClient"/> passes the allowlist and is
/// signed. Redirects are not followed: a redirect could lead past the allowlist.
/// </summary>
public sealed class OutboundHandler(OutboundUrlPolicy policy, OutboundSigner signer, TimeProvider time, IOutboundRateGate? rates = null) : DelegatingHandler
{
    /// <summary>Set on a request to name the task it belongs to (sent as <c>X-TaskHub-Task-Id</c>).</summary>
    public static readonly HttpRequestOptionsKey<string> TaskId = new("taskhub.task-id");

    /// <summary>Set on a call whose start was reserved under its host's rate limit already (a task's callee call).</summary>
    public static readonly HttpRequestOptionsKey<bool> HostTurnReserved = new("taskhub.host-turn-reserved");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (policy.Check(request.RequestUri!) is { } refusal)
            throw new OutboundUrlRefusedException(request.RequestUri!, refusal);
        // Before the signature, whose timestamp says when the request left.
        if (rates is not null && !request.Options.TryGetValue(HostTurnReserved, out _))
            await rates.WaitTurnAsync(request.RequestUri!, cancellationToken);
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        request.Headers.TryAddWithoutValidation(OutboundSigner.TimestampHeader, timestamp.ToString());
        request.Headers.TryAddWithoutValidation(OutboundSigner.SignatureHeader, signer.Sign(timestamp, body));
        if (request.Options.TryGetValue(TaskId, out var taskId))
            request.Headers.TryAddWithoutValidation(OutboundSigner.TaskIdHeader, taskId);
        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// <c>Outbound:RateLimits:&lt;host&gt;</c> for every call TaskHub makes (callbacks, cron callbacks, polls, defined HTTP
/// processes): waits for the host's next turn, cluster-wide. Registered where the budget is kept (the Scheduler, the Worker).
/// </summary>
public interface IOutboundRateGate
{
    Task WaitTurnAsync(Uri url, CancellationToken cancellationToken);
}

/// <summary>The URL is not on the allowlist: a permanent failure, not worth retrying.</summary>
public sealed class OutboundUrlRefusedException(Uri url, string reason) : Exception($"outbound URL {url} refused: {reason}")
{
    public Uri Url { get; } = url;
}
