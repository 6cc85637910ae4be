using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Npgsql;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Batches;

/// <summary>Issue 19's batch form for .NET producers, on the real broker and database: <c>ITaskClient.SendTasksAsync</c> → Scheduler → Worker.</summary>
public sealed class TaskClientBatchTests : SystemTest
{
    readonly ConcurrentDictionary<int, int> _runs = new();

    async Task<ITaskClient> StartAsync()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Echo", (int n) =>
        {
            _runs.AddOrUpdate(n, 1, (_, runs) => runs + 1);
            return n;
        }));
        return await System.StartClientAsync();
    }

    /// <summary>Each task's id and result, once <paramref name="count"/> tasks have succeeded.</summary>
    async Task<Dictionary<Guid, string?>> SucceededAsync(int count)
    {
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM tasks WHERE current_state = 'Succeeded'"), n => n >= count,
            TimeSpan.FromMinutes(3), $"{count} tasks to succeed");
        await using var connection = new NpgsqlConnection(System.Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, response::text FROM tasks", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<Guid, string?>();
        while (await reader.ReadAsync())
            rows[reader.GetGuid(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        return rows;
    }

    /// <summary>Nothing of a send is left on its way: no batch or submission queued, no outbox row unsent.</summary>
    async Task SettledAsync()
    {
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM outbox_messages"), n => n == 0, TimeSpan.FromMinutes(1), "the outbox to drain");
        foreach (var queue in new[] { "taskhub.task-submit-batch", "taskhub.task-submit" })
            await TestSystem.EventuallyAsync(() => QueuedAsync(queue), n => n == 0, TimeSpan.FromMinutes(1), $"{queue} to be empty");
    }

    async Task<long> QueuedAsync(string queue)
    {
        using var response = await System.Stack.ManagementClient.GetAsync($"api/queues/{System.VirtualHost}/{queue}");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return 0;
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        long Count(string name) => json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
        return Count("messages_ready") + Count("messages_unacknowledged");
    }

    [Fact]
    public async Task Thousands_of_tasks_sent_as_one_batch_all_succeed_and_their_ids_come_back_in_order()
    {
        var client = await StartAsync();

        // 2,500: two full chunks of 1,000 and one of 500.
        var ids = await client.SendTasksAsync(Enumerable.Range(0, 2500).Select(i => TaskSignature.Create("Echo", i)));

        Assert.Equal(2500, ids.Count);
        Assert.Equal(2500, ids.Distinct().Count());
        var rows = await SucceededAsync(2500);
        Assert.Equal(2500, rows.Count);
        for (var i = 0; i < ids.Count; i++)
            Assert.Equal(i.ToString(), rows[ids[i]]);
        Assert.All(_runs.Values, runs => Assert.Equal(1, runs));
    }

    [Fact]
    public async Task A_batch_sent_again_with_its_idempotency_key_has_the_same_ids_and_runs_each_task_once()
    {
        var client = await StartAsync();
        var options = new SendTaskOptions(IdempotencyKey: "nightly-import-42");
        var signatures = Enumerable.Range(0, 1500).Select(i => TaskSignature.Create("Echo", i)).ToList();

        var first = await client.SendTasksAsync(signatures, options);
        var again = await client.SendTasksAsync(signatures, options);
        await SucceededAsync(1500);
        // And once more after every task finished: a finished task is not taken again either.
        var late = await client.SendTasksAsync(signatures, options);
        await SettledAsync();

        Assert.Equal(first, again);
        Assert.Equal(first, late);
        Assert.Equal(1500, await System.CountAsync("SELECT count(*) FROM tasks"));
        Assert.Equal(1500, await System.CountAsync("SELECT count(*) FROM tasks WHERE current_state = 'Succeeded'"));
        Assert.Equal(1500, _runs.Count);
        Assert.All(_runs.Values, runs => Assert.Equal(1, runs));
        // Another key is another batch.
        Assert.Empty(first.Intersect(await client.SendTasksAsync(signatures.Take(3), new SendTaskOptions(IdempotencyKey: "other"))));
    }

    public static TheoryData<string> BadBatches => ["blank name", "priority", "countdown", "eta and countdown", "duplicate id", "bad task in the second chunk",
        "empty", "deduplication window", "one task id"];

    [Theory]
    [MemberData(nameof(BadBatches))]
    public async Task A_bad_batch_throws_before_anything_is_sent(string bad)
    {
        var client = await StartAsync();
        var good = Enumerable.Range(0, 5).Select(i => TaskSignature.Create("Echo", i)).ToList();
        var same = Guid.NewGuid();
        (IEnumerable<TaskSignature> Tasks, SendTaskOptions? Options) batch = bad switch
        {
            "blank name" => ([.. good, TaskSignature.Create(" ")], null),
            "priority" => ([.. good.Take(3), TaskSignature.Create("Echo", 3) with { Priority = 10 }], null),
            "countdown" => ([.. good, TaskSignature.Create("Echo", 5) with { Countdown = TimeSpan.FromSeconds(-1) }], null),
            "eta and countdown" => ([.. good, TaskSignature.Create("Echo", 5) with { Countdown = TimeSpan.FromSeconds(1), Eta = DateTimeOffset.UtcNow }], null),
            "duplicate id" => ([.. good, TaskSignature.Create("Echo", 5) with { TaskId = same }, TaskSignature.Create("Echo", 6) with { TaskId = same }], null),
            "bad task in the second chunk" => ([.. Enumerable.Range(0, 1500).Select(i => TaskSignature.Create(i == 1200 ? "" : "Echo", i))], null),
            "empty" => (new List<TaskSignature>(), null),
            "deduplication window" => (good, new SendTaskOptions(DeduplicateFor: TimeSpan.FromMinutes(1))),
            _ => (good, new SendTaskOptions(TaskId: Guid.NewGuid())),
        };

        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.SendTasksAsync(batch.Tasks, batch.Options));
        if (bad == "bad task in the second chunk")
            Assert.StartsWith("tasks[1200]: ", error.Message);

        // A good batch after it, through the same client and queue: once it has succeeded and everything settled, it is all there is.
        var marker = await client.SendTasksAsync([TaskSignature.Create("Echo", 1000)]);
        await SucceededAsync(1);
        await SettledAsync();
        Assert.Equal(1, await System.CountAsync("SELECT count(*) FROM tasks"));
        Assert.Equal(marker[0], Assert.Single((await SucceededAsync(1)).Keys));
    }
}
