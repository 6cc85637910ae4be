using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>What one attempt to reach a URL came to.</summary>
public sealed record AttemptResult(int Attempt, DateTimeOffset At, int? HttpStatus, string? Error, string? ResponseBody)
{
    public bool Succeeded => HttpStatus is >= 200 and < 300;
}

/// <summary>
/// POSTs a JSON body through the outbound (allowlisted, signed) client, retrying with
/// exponential backoff a bounded number of times; each attempt is handed to the caller to record.
/// </summary>
public sealed class CallbackSender(IHttpClientFactory clients, IOptionsMonitor<CallbackDeliveryOptions> options, TimeProvider time)
{
    public async Task<AttemptResult> SendAsync(HttpMethod method, string url, string? body, string? taskId,
        Func<AttemptResult, Task> record, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? headers = null)
    {
        var settings = options.CurrentValue;
        var delay = TimeSpan.FromMilliseconds(settings.FirstRetryDelayMs);
        for (var attempt = 1; ; attempt++)
        {
            var result = await AttemptAsync(method, url, body, taskId, attempt, headers, cancellationToken);
            await record(result);
            var permanent = result.Error?.StartsWith("refused", StringComparison.Ordinal) == true;
            if (result.Succeeded || permanent || attempt >= settings.Attempts)
                return result;
            await Task.Delay(delay, time, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, settings.MaxRetryDelayMs));
        }
    }

    async Task<AttemptResult> AttemptAsync(HttpMethod method, string url, string? body, string? taskId, int attempt,
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
            return new AttemptResult(attempt, at, null, $"refused: {ex.Message}", null);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new AttemptResult(attempt, at, null, ex is TaskCanceledException ? "timeout" : ex.Message, null);
        }
    }
}
