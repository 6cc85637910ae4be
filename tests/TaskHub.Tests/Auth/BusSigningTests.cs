using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Auth;

/// <summary>
/// Whoever can publish to RabbitMQ cannot run a handler: a task message published with RabbitMQ.Client
/// that is unsigned, forged, or signed with a retired key never reaches it, lands in the error queue, and
/// fails its task with <c>signature</c>. During a rotation the previous key still works.
/// </summary>
public sealed class BusSigningTests : SystemTest
{
    const string Queue = "taskhub.task";

    int _runs;

    async Task<(ITaskClient Client, ApiHost Api)> StartAsync(params (string, string?)[] settings)
    {
        await System.StartSchedulerAsync(settings);
        await System.StartWorkerAsync(w => w.Register("Guarded", () => { Interlocked.Increment(ref _runs); return "ran"; }), settings);
        return (await System.StartClientAsync(), await System.StartApiAsync());
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "unsigned", "the message is not signed" },
        { "forged", "the signature does not match the message" },
        { "retired key", "is not (or no longer) a verification key" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_raw_task_message_that_is_not_validly_signed_never_runs_its_handler(string kind, string reason)
    {
        var (client, api) = await StartAsync();
        // A real task, parked on a queue no Worker reads: the forged message claims to run it.
        var taskId = await client.SendTaskAsync(TaskSignature.Create("Guarded"), new SendTaskOptions(Queue: "parked"));
        await WaitForAsync(api, taskId, TaskStatuses.Waiting);
        var message = new ExecuteTask(taskId, TaskSignature.Create("Guarded"), null);
        var signature = kind switch
        {
            "unsigned" => null,
            "forged" => Signer("test", "an-attacker-guess-0123456789abcdef0123").Sign(message),
            _ => Signer("retired", "a-key-retired-last-month-0123456789abcdef").Sign(message),
        };

        await PublishRawAsync(message, signature);

        var task = await WaitForAsync(api, taskId, TaskStatuses.Failure);
        Assert.StartsWith("signature:", task.GetProperty("error").GetString());
        Assert.Contains(reason, task.GetProperty("error").GetString());
        Assert.Equal(1u, await ErrorQueueDepthAsync());
        Assert.Equal(0, _runs);
    }

    [Fact]
    public async Task A_forged_batch_of_submissions_creates_none_of_its_tasks()
    {
        var (client, _) = await StartAsync();
        var tasks = Enumerable.Range(0, 3).Select(_ => new SubmitTask(Guid.NewGuid(), TaskSignature.Create("Guarded"), null, null, DateTimeOffset.UtcNow)).ToList();
        var batch = new SubmitTaskBatch(Guid.NewGuid(), tasks, DateTimeOffset.UtcNow);

        await PublishRawAsync(batch, Signer("test", "an-attacker-guess-0123456789abcdef0123").Sign(batch), TaskHubBus.TaskSubmitBatchQueue);

        Assert.Equal(1u, await ErrorQueueDepthAsync(TaskHubBus.TaskSubmitBatchQueue));
        // A signed batch after it goes through: it is what the tasks table holds, and nothing of the forged one.
        var ids = await client.SendTasksAsync([TaskSignature.Create("Guarded")]);
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM tasks WHERE current_state = 'Succeeded'"), n => n == 1);
        Assert.Equal(1, await System.CountAsync("SELECT count(*) FROM tasks"));
        Assert.Equal("Succeeded", (await System.ReadTaskAsync(ids[0]))?.State);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task During_a_rotation_a_producer_still_signing_with_the_previous_key_is_served()
    {
        // The services already sign with the new key and still accept the old one; the producer has not moved yet.
        var (client, api) = await StartAsync(("Bus:SigningKeys:next", "the-next-bus-key-0123456789abcdef0123456789"), ("Bus:SignWith", "next"));

        var taskId = await client.SendTaskAsync(TaskSignature.Create("Guarded"));

        await WaitForAsync(api, taskId, TaskStatuses.Success);
        Assert.Equal(1, _runs);
    }

    static MessageSigner Signer(string id, string key) =>
        new(Options.Create(new BusSigningOptions { SigningKeys = { [id] = key }, SignWith = id }));

    /// <summary>What anyone with the broker's credentials can do: a MassTransit envelope, straight onto the Worker's queue.</summary>
    Task PublishRawAsync(ExecuteTask message, string? signature) => PublishRawAsync(message, signature, Queue);

    async Task PublishRawAsync<T>(T message, string? signature, string queue) where T : class
    {
        var envelope = new Dictionary<string, object?>
        {
            ["messageId"] = Guid.NewGuid(),
            ["destinationAddress"] = $"rabbitmq://127.0.0.1/{System.VirtualHost}/{queue}",
            ["messageType"] = new[] { $"urn:message:TaskHub.Contracts.Messages:{typeof(T).Name}" },
            ["message"] = message,
            ["headers"] = signature is null ? new Dictionary<string, object>() : new Dictionary<string, object> { [MessageSigner.Header] = signature },
            ["sentTime"] = DateTimeOffset.UtcNow,
        };
        await using var connection = await Factory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var properties = new BasicProperties
        {
            ContentType = "application/vnd.masstransit+json",
            Persistent = true,
            Headers = signature is null ? null : new Dictionary<string, object?> { [MessageSigner.Header] = signature },
        };
        await channel.BasicPublishAsync("", queue, false, properties, JsonSerializer.SerializeToUtf8Bytes(envelope, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }

    /// <summary>The error queue's depth once it holds something (it is made when the first message is moved there).</summary>
    async Task<uint> ErrorQueueDepthAsync(string queue = Queue)
    {
        await using var connection = await Factory().CreateConnectionAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(200))
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                var depth = (await channel.QueueDeclarePassiveAsync(queue + "_error")).MessageCount;
                if (depth > 0 || DateTime.UtcNow > deadline)
                    return depth;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException) when (DateTime.UtcNow < deadline)
            {
                // Not there yet.
            }
        }
    }

    ConnectionFactory Factory() => new() { Uri = new Uri(System.Broker) };

    static async Task<JsonElement> WaitForAsync(ApiHost api, Guid id, string status)
    {
        JsonElement task = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            using var response = await api.Http.GetAsync($"/tasks/{id}");
            if (!response.IsSuccessStatusCode)
                continue;
            task = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (task.GetProperty("status").GetString() == status)
                return task;
        }
        throw new TimeoutException($"task {id} is not {status}: {task}");
    }
}
