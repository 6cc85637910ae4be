using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MassTransit;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Transport;

namespace TaskHub.Api.Definitions;

/// <summary>
/// Seed 001's <c>event.next</c>: the id of a task added without one comes from the type's
/// generator, a webhook POSTed <c>{"event":"next"}</c> or a .NET handler run by a Worker. Its answer,
/// a whole number or a string, is then the caller's id (so a repeated answer is the same task).
/// </summary>
public sealed class NextTaskIds(IHttpClientFactory http, IClientFactory bus)
{
    static readonly TimeSpan HandlerTimeout = TimeSpan.FromSeconds(10);

    public async Task<string> NextAsync(TaskDefinition definition, CancellationToken cancellationToken)
    {
        var target = definition.Events.Next!;
        var answer = TaskHooks.IsWebhook(target)
            ? await CallWebhookAsync(target, cancellationToken)
            : await RunHandlerAsync(target, cancellationToken);
        try
        {
            using var document = JsonDocument.Parse(answer ?? "");
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Number && root.TryGetInt64(out var number))
                return number.ToString(CultureInfo.InvariantCulture);
            if (root.ValueKind == JsonValueKind.String && root.GetString() is { Length: > 0 and <= DefinitionRequestReader.MaxIdLength } text)
                return text;
        }
        catch (JsonException)
        {
        }
        throw new NextTaskIdException($"answered '{answer}', not a whole number or a string id");
    }

    async Task<string> CallWebhookAsync(string url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent("""{"event":"next"}""", Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        try
        {
            using var response = await http.CreateClient(OutboundRegistration.HttpClientName).SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode ? body : throw new NextTaskIdException($"answered HTTP {(int)response.StatusCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or OutboundUrlRefusedException
                                   || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new NextTaskIdException(ex.Message);
        }
    }

    async Task<string?> RunHandlerAsync(string handler, CancellationToken cancellationToken)
    {
        var client = bus.CreateRequestClient<RunTaskHook>(TaskHubBus.QueueAddress(TaskHooks.HandlerQueue),
            RequestTimeout.After(ms: (int)(HandlerTimeout + TimeSpan.FromSeconds(5)).TotalMilliseconds));
        try
        {
            var ran = (await client.GetResponse<TaskHookRan>(
                new RunTaskHook(Guid.Empty, handler, [], (int)HandlerTimeout.TotalMilliseconds), cancellationToken)).Message;
            return ran.Error is null ? ran.Response : throw new NextTaskIdException(ran.Error);
        }
        catch (RequestTimeoutException)
        {
            throw new NextTaskIdException("no Worker answered in time");
        }
    }
}

public sealed class NextTaskIdException(string message) : Exception(message);
