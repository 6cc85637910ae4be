using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Hosting.Queues;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Workflows;

/// <summary>
/// Issue 18's priorities on the real stack: a priority-9 task behind a backlog of priority-0 ones starts among the first,
/// priorities outside 0–9 are refused, and a task queue declared before priorities is replaced by a Worker without losing
/// a message.
/// </summary>
public sealed class PriorityTests : SystemTest
{
    const string Queue = "taskhub.task";

    [Fact]
    public async Task A_priority_9_task_behind_a_backlog_of_2000_starts_among_the_first()
    {
        const int backlog = 2000;
        await System.StartSchedulerAsync();
        var client = await System.StartClientAsync();
        // No Worker yet: the backlog waits in the queue, as behind a busy or stopped Worker.
        foreach (var chunk in Enumerable.Range(0, backlog).Chunk(100))
            await Task.WhenAll(chunk.Select(i => client.SendTaskAsync(TaskSignature.Create("Record", (long)i))));
        var urgent = await client.SendTaskAsync(TaskSignature.Create("Record", -1L) with { Priority = 9 });
        await TestSystem.EventuallyAsync(() => DepthAsync(Queue), n => n == backlog + 1, TimeSpan.FromSeconds(60), "the backlog in the queue");
        Assert.Equal(9, await System.CountAsync($"SELECT priority::bigint FROM tasks WHERE id = '{urgent}'"));

        var started = 0;
        var urgentAt = -1;
        await System.StartWorkerAsync(w => w.Register("Record", (long n) =>
        {
            var at = Interlocked.Increment(ref started);
            if (n < 0)
                urgentAt = at;
            return n;
        }).StartWorker("", 1));

        var done = await client.WaitForResultAsync(urgent, TimeSpan.FromSeconds(60));
        Assert.Equal(TaskStatuses.Success, done.Status);
        // What the Worker prefetched before the urgent one (16) may start before it; the rest of the backlog may not.
        Assert.InRange(urgentAt, 1, 50);
    }

    [Fact]
    public async Task A_priority_outside_0_to_9_is_refused_by_the_client_and_by_task_new()
    {
        await System.StartSchedulerAsync();
        var client = await System.StartClientAsync();
        foreach (var priority in new[] { -1, 10 })
        {
            var refused = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
                client.SendTaskAsync(TaskSignature.Create("Record", 1L) with { Priority = priority }));
            Assert.Equal(nameof(TaskSignature.Priority), refused.ParamName);
        }
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SendTaskAsync(
            TaskSignature.Create("Record", 1L) with { OnSuccess = [TaskSignature.Create("Record") with { Priority = 12 }] }));

        var api = await System.StartApiAsync();
        foreach (var bad in new[] { "10", "-1", "high", "1.5" })
        {
            var response = await api.Http.PostAsJsonAsync($"/task/new?callee=http://127.0.0.1:1/x&priority={bad}", new { });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty("priority", out _), $"no error for priority: {problem}");
        }
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM tasks"));

        var accepted = await api.Http.PostAsJsonAsync("/task/new?callee=http://127.0.0.1:1/x&priority=7", new { });
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetString();
        await TestSystem.EventuallyAsync(() => System.CountAsync($"SELECT count(*) FROM tasks WHERE id = '{id}' AND priority = 7"), n => n == 1,
            what: "the HTTP task's priority");
    }

    [Fact]
    public async Task A_task_queue_declared_before_priorities_is_replaced_by_the_Worker_without_losing_a_message()
    {
        const int waiting = 300;
        // The queue as MassTransit declared it before priorities: its exchange, the queue without arguments, their binding.
        await using (var connection = await Factory().CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.ExchangeDeclareAsync(Queue, ExchangeType.Fanout, durable: true, autoDelete: false);
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(Queue, Queue, "");
        }
        await System.StartSchedulerAsync();
        var client = await System.StartClientAsync();
        var ids = new List<Guid>();
        foreach (var chunk in Enumerable.Range(0, waiting).Chunk(100))
            ids.AddRange(await Task.WhenAll(chunk.Select(i => client.SendTaskAsync(TaskSignature.Create("Record", (long)i) with { Priority = i % 10 }))));
        // The Scheduler sent them to the old queue as it is (its priorities are ignored there).
        await TestSystem.EventuallyAsync(() => DepthAsync(Queue), n => n == waiting, TimeSpan.FromSeconds(60), "the tasks in the old queue");

        var ran = new System.Collections.Concurrent.ConcurrentDictionary<long, bool>();
        await System.StartWorkerAsync(w => w.Register("Record", (long n) => ran[n] = true));

        foreach (var id in ids)
            Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(id, TimeSpan.FromSeconds(60))).Status);
        Assert.Equal(waiting, ran.Count);
        await using (var connection = await Factory().CreateConnectionAsync())
        {
            // Declared with the arguments now (a declaration with them is accepted), and the holding queue is gone.
            await using (var channel = await connection.CreateChannelAsync())
                await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, TaskQueues.Arguments());
            await using (var channel = await connection.CreateChannelAsync())
            {
                var gone = await Assert.ThrowsAnyAsync<OperationInterruptedException>(() => channel.QueueDeclarePassiveAsync(TaskQueueUpgrade.HoldingQueue(Queue)));
                Assert.Equal((ushort)Constants.NotFound, gone.ShutdownReason?.ReplyCode);
            }
        }
        // And a task sent now goes through the new queue.
        var after = await client.SendTaskAsync(TaskSignature.Create("Record", 1000L) with { Priority = 5 });
        Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(after, TimeSpan.FromSeconds(30))).Status);
    }

    async Task<uint> DepthAsync(string queue)
    {
        await using var connection = await Factory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }

    ConnectionFactory Factory() => new() { Uri = new Uri(System.Broker) };
}
