using System.Net.Http.Headers;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Worker.Execution;
using TaskHub.Worker.Operations;

namespace TaskHub.Worker.HttpCallee;

/// <summary>
/// The built-in invoker of HTTP tasks (seed 000): POSTs the payload to the callee with
/// <c>?id=&lt;task id&gt;&amp;callback=&lt;completion URL&gt;</c> (its own query kept). A 2xx answer
/// means "accepted": the task then runs until its result is POSTed to the completion URL, or,
/// when the answer names a <c>poll.url</c>, until a poll says done. A non-2xx answer or an
/// unreachable callee is a failed attempt, retried per the policy of task name <c>http</c>.
/// </summary>
public sealed class CallCalleeConsumer(
    IHttpClientFactory clients,
    IOptions<AsyncTaskOptions> options,
    TaskFence fence,
    AttemptRetries retries,
    StartGate gate,
    RunningTasks running,
    TimeProvider time,
    ILogger<CallCalleeConsumer> logger) : IConsumer<CallCallee>
{
    public const string PolicyName = "http";

    public async Task Consume(ConsumeContext<CallCallee> context)
    {
        var call = context.Message;
        var first = Math.Max(1, call.Attempt); // the attempt the message starts with
        if (running.WasCancelled(call.TaskId, first) || !await fence.MayRunAsync(context, call.TaskId, first))
            return;
        if (await gate.HoldAsync(context, call, PolicyName, Uri.TryCreate(call.Http.Callee, UriKind.Absolute, out var callee) ? callee : null,
                at => call with { Rate = StartRate.Reserved(call.Rate, at) }))
            return;
        // A cancel stops the call or the polling; the callee's late confirmation is ignored by the saga.
        using var run = running.Start(call.TaskId, first);
        await fence.RunAsync(call.TaskId, first, () => RunAsync(context, run.Cancelled));
    }

    /// <param name="cancelled">Fires when an operator cancels the task.</param>
    async Task RunAsync(ConsumeContext<CallCallee> context, CancellationToken cancelled)
    {
        var call = context.Message;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, cancelled);
        var settings = options.Value;
        settings.Tasks.TryGetValue(PolicyName, out var configured);
        var policy = AttemptPolicy.Resolve(call.Policy, configured, null, settings);
        var client = clients.CreateClient(OutboundRegistration.HttpClientName);

        for (var attempt = Math.Max(1, call.Attempt); !cancelled.IsCancellationRequested; attempt++)
        {
            var startedAt = time.GetUtcNow();
            // The callee has until the deadline to confirm; past it the Scheduler fails the task as timed out.
            var deadline = startedAt + policy.Timeout;
            await context.Publish(new TaskStarted(call.TaskId, attempt, startedAt, deadline));
            string error;
            try
            {
                var body = await CallAsync(client, call, attempt == Math.Max(1, call.Attempt), stop.Token);
                if (CalleeResponse.FindPoll(body) is not { } poll)
                    return; // accepted: the callee confirms through the completion URL
                var result = await PollAsync(client, call.TaskId, poll, deadline, stop.Token);
                await context.Publish(result is null
                    ? new TaskFailed(call.TaskId, attempt, "timeout", time.GetUtcNow())
                    : new TaskSucceeded(call.TaskId, attempt, CalleeResponse.AsJson(result), time.GetUtcNow()));
                return;
            }
            catch (OperationCanceledException) when (cancelled.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                logger.LogInformation("HTTP task {TaskId} attempt {Attempt} stopped: the task was cancelled", call.TaskId, attempt);
                return;
            }
            catch (OutboundUrlRefusedException ex)
            {
                await context.Publish(new TaskFailed(call.TaskId, attempt, ex.Message, time.GetUtcNow()));
                return;
            }
            catch (CalleeFailedException ex)
            {
                error = ex.Message;
            }
            catch (HttpRequestException ex)
            {
                error = $"callee unreachable: {ex.Message}";
            }
            catch (TaskCanceledException) when (!context.CancellationToken.IsCancellationRequested)
            {
                error = "callee did not answer in time";
            }

            logger.LogWarning("HTTP task {TaskId} attempt {Attempt}/{Attempts} failed: {Error}", call.TaskId, attempt, policy.Attempts, error);
            if (attempt >= policy.Attempts)
            {
                await context.Publish(new TaskFailed(call.TaskId, attempt, error, time.GetUtcNow()));
                return;
            }
            if (await retries.RetryAsync(context, call.TaskId, attempt, error, policy.DelayAfter(attempt, Random.Shared), call with { Attempt = attempt + 1 }))
                return;
        }
    }

    /// <param name="turnReserved">The StartGate reserved this call's turn under its host's limit (the message's first attempt).</param>
    static async Task<string> CallAsync(HttpClient client, CallCallee call, bool turnReserved, CancellationToken cancellationToken)
    {
        var url = QueryHelpers.AddQueryString(call.Http.Callee, new Dictionary<string, string?>
        {
            ["id"] = call.TaskId.ToString(),
            ["callback"] = call.Http.CompletionUrl,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(call.Http.Payload, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Options.Set(OutboundHandler.TaskId, call.TaskId.ToString());
        if (turnReserved)
            request.Options.Set(OutboundHandler.HostTurnReserved, true);
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new CalleeFailedException($"callee answered HTTP {(int)response.StatusCode}");
        return body;
    }

    /// <summary>Polls until a 2xx answer says done (its body is the result), or null at the deadline.</summary>
    async Task<string?> PollAsync(HttpClient client, Guid taskId, CalleeResponse.PollSpec poll, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        while (time.GetUtcNow() < deadline)
        {
            using var request = new HttpRequestMessage(poll.Method, poll.Url);
            request.Options.Set(OutboundHandler.TaskId, taskId.ToString());
            try
            {
                using var response = await client.SendAsync(request, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.IsSuccessStatusCode && CalleeResponse.IsDone(body))
                    return body;
            }
            catch (HttpRequestException ex)
            {
                logger.LogInformation("Poll of task {TaskId} failed ({Error}); polling again", taskId, ex.Message);
            }
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
                break;
            await Task.Delay(poll.Interval < left ? poll.Interval : left, time, cancellationToken);
        }
        return null;
    }
}

sealed class CalleeFailedException(string message) : Exception(message);
