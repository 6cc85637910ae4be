using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Scheduler.Cron;

/// <summary>
/// One attempt of a fire's callback through the outbound client (allowlist, HMAC signature):
/// <c>params</c> as the JSON body, a JWT naming the task and the fire, and the fire's token.
/// </summary>
public sealed class CronCallbackSender(IHttpClientFactory clients, OutboundSigner signer, IOptionsMonitor<CronOptions> options, TimeProvider time)
{
    /// <summary>The fire's token, for <c>POST /v1/task/status</c>.</summary>
    public const string TokenHeader = "X-TaskHub-Token";

    public async Task<CallbackAttempt> SendAsync(CronTaskRecord task, Guid token, int attempt, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var callback = task.Spec.Callback;
        var at = time.GetUtcNow();
        using var request = new HttpRequestMessage(new HttpMethod(callback.Method), callback.Url);
        if (callback.Params is not null)
            request.Content = new StringContent(callback.Params, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        var jwt = signer.CreateJwt(new Dictionary<string, object?>
        {
            ["taskId"] = task.Id.ToString(),
            ["token"] = token.ToString(),
            ["name"] = task.Spec.Name,
        }, TimeSpan.FromSeconds(settings.TokenLifetimeSeconds));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", jwt);
        request.Headers.Add(TokenHeader, token.ToString());
        request.Options.Set(OutboundHandler.TaskId, task.Id.ToString());

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(settings.CallbackTimeoutSeconds));
        try
        {
            using var response = await clients.CreateClient(OutboundRegistration.HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            return new CallbackAttempt(attempt, at, status, response.IsSuccessStatusCode ? null : $"HTTP {status} {response.ReasonPhrase}",
                Retryable: status is 408 or 429 or >= 500);
        }
        catch (OutboundUrlRefusedException ex)
        {
            return new CallbackAttempt(attempt, at, null, ex.Message, Retryable: false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new CallbackAttempt(attempt, at, null, "timeout: no answer in time", Retryable: true);
        }
        catch (HttpRequestException ex)
        {
            return new CallbackAttempt(attempt, at, null, ex.Message, Retryable: true);
        }
    }
}
