using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>What one attempt to reach a URL came to.</summary>
public sealed record AttemptResult(int Attempt, DateTimeOffset At, int? HttpStatus, string? Error, string? ResponseBody)
{
    public bool Succeeded => HttpStatus is >= 200 and < 300;

    /// <summary>The outbound policy refused the URL: no later attempt can do better.</summary>
    public bool IsPermanent => Error?.StartsWith(RefusedPrefix, StringComparison.Ordinal) == true;

    public const string RefusedPrefix = "refused";
}

/// <summary>
/// POSTs a JSON body through the outbound (allowlisted, signed) client: one attempt, or attempts under
/// <see cref="CallbackDeliveryOptions.Retry"/> with their waits in between; each attempt is handed to the
/// caller to record.
/// </summary>
public sealed class CallbackSender(IHttpClientFactory clients, IOptionsMonitor<CallbackDeliveryOptions> options, TimeProvider time)
{
    public async Task<AttemptResult> SendAsync(HttpMethod method, string url, string? body, string? taskId,
        Func<AttemptResult, Task> record, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? headers = null)
    {
        var retry = options.CurrentValue.Retry;
        for (var attempt = 1; ; attempt++)
        {
            var result = await AttemptAsync(method, url, body, taskId, attempt, headers, cancellationToken);
            await record(result);
            if (result.Succeeded || result.IsPermanent || !retry.RetriesAfter(attempt))
                return result;
            await Task.Delay(retry.DelayAfter(attempt, Random.Shared), time, cancellationToken);
        }
    }

    /// <summary>One attempt: its outcome, never an exception for what the URL answered or did not.</summary>
    public async Task<AttemptResult> AttemptAsync(HttpMethod method, string url, string? body, string? taskId, int attempt,
        IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        using var request = new HttpRequestMessage(method, url);
        if (body is not null && method != HttpMethod.Get)
            request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        if (taskId is not null)
            request.Options.Set(OutboundHandler.TaskId, taskId);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            request.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await clients.CreateClient(OutboundRegistration.HttpClientName).SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            return new AttemptResult(attempt, at, status, response.IsSuccessStatusCode ? null : $"HTTP {status}", text);
        }
        catch (OutboundUrlRefusedException ex)
        {
            return new AttemptResult(attempt, at, null, $"{AttemptResult.RefusedPrefix}: {ex.Message}", null);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new AttemptResult(attempt, at, null, ex is TaskCanceledException ? "timeout" : ex.Message, null);
        }
    }
}
