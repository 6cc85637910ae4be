using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Options;

namespace TaskHub.Api.Operations;

/// <summary>
/// The depth and consumers of the queues in TaskHub's virtual host, from RabbitMQ's management API
/// (<c>Operations:RabbitManagement</c>). Not configured, or not answering: said so in the answer, never an error.
/// </summary>
public sealed class BrokerQueueReader(IHttpClientFactory clients, IOptions<OperationsOptions> options, IOptions<AsyncTaskOptions> asyncTask,
    ILogger<BrokerQueueReader> logger)
{
    public const string ClientName = "rabbitmq-management";

    public async Task<BrokerQueues> ReadAsync(CancellationToken cancellationToken)
    {
        var management = options.Value.RabbitManagement;
        if (string.IsNullOrWhiteSpace(management.Url))
            return new BrokerQueues(false, $"{OperationsOptions.Section}:RabbitManagement:Url is not set.", []);
        var url = $"{management.Url.TrimEnd('/')}/api/queues/{Uri.EscapeDataString(VirtualHost())}" +
                  "?columns=name,messages,messages_ready,messages_unacknowledged,consumers";
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{management.User}:{management.Password}")));
            using var response = await clients.CreateClient(ClientName).SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
                return new BrokerQueues(false, $"The management API answered HTTP {(int)response.StatusCode}.", []);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            var queues = json.RootElement.EnumerateArray().Select(q => new BrokerQueue(
                    q.GetProperty("name").GetString()!, Number(q, "messages"), Number(q, "messages_ready"), Number(q, "messages_unacknowledged"),
                    Number(q, "consumers")))
                .OrderBy(q => q.Name, StringComparer.Ordinal).ToList();
            return new BrokerQueues(true, null, queues);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            logger.LogInformation("RabbitMQ's management API could not be read: {Error}", ex.Message);
            return new BrokerQueues(false, $"The management API could not be read: {ex.Message}", []);
        }
    }

    /// <summary>The virtual host of <c>AsyncTask:Broker</c> (its path; none is <c>/</c>).</summary>
    string VirtualHost()
    {
        var path = new Uri(asyncTask.Value.Broker).AbsolutePath.TrimStart('/');
        return path.Length == 0 ? "/" : Uri.UnescapeDataString(path);
    }

    // A queue the broker has just declared may not have its counts yet.
    static long Number(JsonElement queue, string name) => queue.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
}
