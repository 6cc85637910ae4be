using System.Text.Json;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.PullQueue;

/// <summary>Seed 004's pull queue on the real database, through two Api instances on Kestrel that share it.</summary>
public class PullQueueTests : SystemTest
{
    /// <summary>The Api's settings for who may call it; the clients then send <see cref="ApiKey"/> when there is one.</summary>
    protected virtual (string, string?)[] AccessSettings => [];

    protected virtual string? ApiKey => null;

    async Task<(PullQueueClient A, PullQueueClient B)> StartTwoApisAsync(params (string, string?)[] settings) =>
        (await StartClientAsync(settings), await StartClientAsync(settings));

    async Task<PullQueueClient> StartClientAsync((string, string?)[] settings)
    {
        var http = (await System.StartApiAsync([.. AccessSettings, .. settings])).Http;
        if (ApiKey is { } key)
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
        return new PullQueueClient(http);
    }

    [Fact]
    public async Task Put_peek_acquire_reply_round_trip_across_instances()
    {
        var (a, b) = await StartTwoApisAsync();

        Assert.True(await a.PutAsync("jobs", "t1", new { n = 1 }, "hello"));
        Assert.False(await b.PutAsync("jobs", "t1", new { n = 99 }, "other"));
        Assert.True(await a.PutAsync("jobs", "t2", new { n = 2 }));

        var all = await b.PeekAsync("jobs", size: 10);
        Assert.Equal("0000", all.GetProperty("err_code").GetString());
        Assert.Equal(["t1", "t2"], PullQueueClient.Ids(all.GetProperty("data")));
        var first = all.GetProperty("data")[0];
        Assert.Equal(1, first.GetProperty("info").GetProperty("n").GetInt32());
        Assert.False(first.TryGetProperty("content", out _));

        var one = await b.PeekAsync("jobs");
        Assert.Equal(["t1"], PullQueueClient.Ids(one.GetProperty("data")));
        var afterT1 = one.GetProperty("cursor").GetString();
        var next = await a.PeekAsync("jobs", size: 10, cursor: afterT1);
        Assert.Equal(["t2"], PullQueueClient.Ids(next.GetProperty("data")));
        var end = next.GetProperty("cursor").GetString();
        Assert.Equal(all.GetProperty("cursor").GetString(), end);
        var none = await a.PeekAsync("jobs", cursor: end);
        Assert.Empty(none.GetProperty("data").EnumerateArray());
        Assert.Equal(end, none.GetProperty("cursor").GetString());

        var acquired = Assert.Single(await b.AcquireAsync("jobs", ["t1", "no-such-task"], promiseReplyTime: 60));
        Assert.Equal("t1", acquired.GetProperty("id").GetString());
        Assert.Equal(1, acquired.GetProperty("info").GetProperty("n").GetInt32());
        Assert.Equal("hello", PullQueueClient.Text(acquired.GetProperty("content")));
        Assert.Equal(["t2"], await a.PeekIdsAsync("jobs"));
        Assert.Equal(TaskStatuses.Running, (await a.StatusAsync("jobs", "t1")).GetProperty("status").GetString());

        Assert.True(await a.ReplyAsync("jobs", "t1", new { ok = true }, "world"));
        Assert.False(await b.ReplyAsync("jobs", "t1", new { ok = false }));
        Assert.False(await b.ReplyAsync("jobs", "t2", new { ok = false }));

        var status = await b.StatusAsync("jobs", "t1");
        Assert.Equal(TaskStatuses.Success, status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("result_info").GetProperty("ok").GetBoolean());
        Assert.Equal(TaskStatuses.Waiting, (await b.StatusAsync("jobs", "t2")).GetProperty("status").GetString());

        // The result waits in jobs-result for the producer, which reads it and acknowledges it with a reply.
        var result = (await b.PeekAsync("jobs-result", size: 10)).GetProperty("data");
        Assert.Equal(["t1"], PullQueueClient.Ids(result));
        Assert.True(result[0].GetProperty("info").GetProperty("ok").GetBoolean());
        var resultTask = Assert.Single(await a.AcquireAsync("jobs-result", ["t1"]));
        Assert.Equal("world", PullQueueClient.Text(resultTask.GetProperty("content")));
        Assert.True(await a.ReplyAsync("jobs-result", "t1"));
        Assert.Equal(JsonValueKind.Null, (await a.StatusAsync("jobs-result", "t1")).ValueKind);
        Assert.Empty(await b.PeekIdsAsync("jobs-result"));
        Assert.False(await a.ReplyAsync("jobs-result", "t1"));
    }

    [Fact]
    public async Task Each_task_is_acquired_once_among_twenty_concurrent_acquirers()
    {
        var (a, b) = await StartTwoApisAsync();
        string[] ids = ["t1", "t2", "t3", "t4", "t5"];
        foreach (var id in ids)
            Assert.True(await a.PutAsync("jobs", id, content: id));

        using var start = new ManualResetEventSlim();
        var acquirers = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            start.Wait();
            // Each asks for all five, in a different order.
            var order = ids.Skip(i % ids.Length).Concat(ids.Take(i % ids.Length)).ToArray();
            return await (i % 2 == 0 ? a : b).AcquireAsync("jobs", order, promiseReplyTime: 60);
        })).ToList();
        start.Set();
        var won = (await Task.WhenAll(acquirers)).SelectMany(t => t).ToList();

        Assert.Equal(ids, won.Select(t => t.GetProperty("id").GetString()).Order().ToArray());
        Assert.All(won, t => Assert.Equal(t.GetProperty("id").GetString(), PullQueueClient.Text(t.GetProperty("content"))));
        Assert.All(won, t => Assert.Equal(1, t.GetProperty("lease").GetInt32()));
        var stat = await b.StatAsync("jobs");
        Assert.Equal(5, stat.GetProperty("acquired").GetInt64());
    }

    [Fact]
    public async Task A_lease_that_runs_out_makes_the_task_acquirable_again_and_the_late_reply_is_refused()
    {
        var (a, b) = await StartTwoApisAsync();
        Assert.True(await a.PutAsync("jobs", "t1", new { n = 1 }, "payload"));
        var peeked = await b.PeekAsync("jobs");
        var cursor = peeked.GetProperty("cursor").GetString();

        var firstLease = Assert.Single(await a.AcquireAsync("jobs", ["t1"], promiseReplyTime: 1)).GetProperty("lease").GetInt32();
        Assert.Empty(await b.AcquireAsync("jobs", ["t1"]));
        Assert.Empty(await b.PeekIdsAsync("jobs"));

        // Once the lease runs out the task comes back, after the cursor its consumer already holds.
        var back = await TestSystem.EventuallyAsync(() => b.PeekIdsAsync("jobs", cursor: cursor), ids => ids.Length > 0,
            TimeSpan.FromSeconds(20), "the task to come back after its lease");
        Assert.Equal(["t1"], back);
        Assert.Equal(TaskStatuses.Waiting, (await a.StatusAsync("jobs", "t1")).GetProperty("status").GetString());

        var second = Assert.Single(await b.AcquireAsync("jobs", ["t1"], promiseReplyTime: 60));
        Assert.Equal("payload", PullQueueClient.Text(second.GetProperty("content")));
        var secondLease = second.GetProperty("lease").GetInt32();
        Assert.Equal(firstLease + 1, secondLease);

        Assert.False(await a.ReplyAsync("jobs", "t1", new { from = "late" }, lease: firstLease));
        Assert.True(await b.ReplyAsync("jobs", "t1", new { from = "second" }, lease: secondLease));
        var result = (await a.PeekAsync("jobs-result")).GetProperty("data");
        Assert.Equal("second", result[0].GetProperty("info").GetProperty("from").GetString());
    }

    [Fact]
    public async Task A_reply_after_the_lease_ran_out_is_refused_even_when_nobody_acquired_the_task_since()
    {
        var (a, b) = await StartTwoApisAsync();
        Assert.True(await a.PutAsync("jobs", "t1"));
        Assert.Single(await a.AcquireAsync("jobs", ["t1"], promiseReplyTime: 1));

        await TestSystem.EventuallyAsync(() => b.StatusAsync("jobs", "t1"), s => s.GetProperty("status").GetString() == TaskStatuses.Waiting,
            TimeSpan.FromSeconds(20), "the lease to run out");

        Assert.False(await a.ReplyAsync("jobs", "t1", new { late = true }));
        Assert.Equal(TaskStatuses.Waiting, (await b.StatusAsync("jobs", "t1")).GetProperty("status").GetString());
        Assert.Empty(await b.PeekIdsAsync("jobs-result"));
        Assert.Single(await b.AcquireAsync("jobs", ["t1"]));
    }

    [Fact]
    public async Task A_result_goes_to_the_queue_named_by_forward_result_to()
    {
        var (a, b) = await StartTwoApisAsync();
        Assert.True(await a.PutAsync("resize", "img1", new { w = 10 }, config: new { forward_result_to = "thumbnails" }));
        var task = Assert.Single(await b.AcquireAsync("resize", ["img1"]));

        Assert.True(await b.ReplyAsync("resize", "img1", new { url = "t/img1.png" }, "png", task.GetProperty("lease").GetInt32()));

        var forwarded = (await a.PeekAsync("thumbnails", size: 10)).GetProperty("data");
        Assert.Equal(["img1"], PullQueueClient.Ids(forwarded));
        Assert.Equal("t/img1.png", forwarded[0].GetProperty("info").GetProperty("url").GetString());
        Assert.Equal("png", PullQueueClient.Text(Assert.Single(await a.AcquireAsync("thumbnails", ["img1"])).GetProperty("content")));
        Assert.Empty(await a.PeekIdsAsync("resize-result"));
        Assert.Equal(["resize", "thumbnails"], await b.ListAsync());
    }

    [Fact]
    public async Task A_replied_id_is_refused_while_its_result_is_cached_and_starts_over_once_it_expired()
    {
        var (a, b) = await StartTwoApisAsync();
        Assert.True(await a.PutAsync("cached", "t1", new { n = 1 }, config: new { cache_result_time = 1 }));
        Assert.Single(await b.AcquireAsync("cached", ["t1"]));
        Assert.True(await b.ReplyAsync("cached", "t1", new { round = 1 }, "first"));

        Assert.False(await a.PutAsync("cached", "t1", new { n = 2 }));
        Assert.Empty(await b.PeekIdsAsync("cached"));
        Assert.Equal(1, (await a.StatusAsync("cached", "t1")).GetProperty("result_info").GetProperty("round").GetInt32());

        await TestSystem.EventuallyAsync(() => a.StatusAsync("cached", "t1"), s => s.ValueKind == JsonValueKind.Null, TimeSpan.FromSeconds(30),
            "t1's result to expire");
        Assert.True(await b.PutAsync("cached", "t1", new { n = 2 }));
        Assert.Equal(TaskStatuses.Waiting, (await a.StatusAsync("cached", "t1")).GetProperty("status").GetString());
        var again = Assert.Single(await a.AcquireAsync("cached", ["t1"]));
        Assert.Equal(2, again.GetProperty("info").GetProperty("n").GetInt32());
        Assert.True(await a.ReplyAsync("cached", "t1", new { round = 2 }, "second"));
        var status = await b.StatusAsync("cached", "t1");
        Assert.Equal(TaskStatuses.Success, status.GetProperty("status").GetString());
        Assert.Equal(2, status.GetProperty("result_info").GetProperty("round").GetInt32());
    }

    [Fact]
    public async Task List_stat_remove_and_clear()
    {
        var (a, b) = await StartTwoApisAsync();
        Assert.Empty(await a.ListAsync());
        foreach (var id in new[] { "t1", "t2", "t3" })
            Assert.True(await a.PutAsync("q1", id));
        Assert.True(await b.PutAsync("q2", "u1"));
        Assert.Equal(["q1", "q2"], await b.ListAsync());

        var cursors = PullQueueCursors(await a.PeekAsync("q1"), await a.PeekAsync("q1", size: 3));
        Assert.Single(await a.AcquireAsync("q1", ["t1"]));
        var stat = await b.StatAsync("q1");
        Assert.Equal(3, stat.GetProperty("length").GetInt64());
        Assert.Equal(1, stat.GetProperty("acquired").GetInt64());
        Assert.Equal(0, stat.GetProperty("results").GetInt64());
        Assert.Equal(cursors.Oldest, stat.GetProperty("oldest_cursor").GetString());
        Assert.Equal(cursors.Newest, stat.GetProperty("newest_cursor").GetString());

        Assert.True(await b.ReplyAsync("q1", "t1", new { done = true }));
        stat = await a.StatAsync("q1");
        Assert.Equal(2, stat.GetProperty("length").GetInt64());
        Assert.Equal(0, stat.GetProperty("acquired").GetInt64());
        Assert.Equal(1, stat.GetProperty("results").GetInt64());
        Assert.Equal(["q1", "q1-result", "q2"], await a.ListAsync());

        Assert.True(await a.RemoveAsync("q1", "t2"));
        Assert.False(await b.RemoveAsync("q1", "t2"));
        Assert.False(await b.RemoveAsync("q1", "no-such-task"));
        Assert.Equal(["t3"], await b.PeekIdsAsync("q1"));
        Assert.Equal(1, (await b.StatAsync("q1")).GetProperty("length").GetInt64());

        // t3 waiting and t1's cached result.
        Assert.Equal(2, await b.ClearAsync("q1"));
        stat = await a.StatAsync("q1");
        Assert.Equal(0, stat.GetProperty("length").GetInt64());
        Assert.Equal(0, stat.GetProperty("results").GetInt64());
        Assert.Equal(JsonValueKind.Null, stat.GetProperty("oldest_cursor").ValueKind);
        Assert.Equal(JsonValueKind.Null, stat.GetProperty("newest_cursor").ValueKind);
        Assert.Equal(["q1-result", "q2"], await a.ListAsync());
        Assert.Equal(0, await a.ClearAsync("q1"));
        Assert.Equal(["u1"], await a.PeekIdsAsync("q2"));
    }

    static (string Oldest, string Newest) PullQueueCursors(JsonElement first, JsonElement all) =>
        (first.GetProperty("cursor").GetString()!, all.GetProperty("cursor").GetString()!);
}

/// <summary>Seed 004's flows again with keys required: a consumer's key with the scopes the README gives it.</summary>
public sealed class PullQueueWithKeyTests : PullQueueTests
{
    const string Key = "pull-queue-key-0123456789";

    protected override (string, string?)[] AccessSettings =>
    [
        ("Auth:AllowAnonymous", "false"),
        ("Auth:Keys:0:Name", "consumer"),
        ("Auth:Keys:0:Key", Key),
        ("Auth:Keys:0:Scopes:0", "submit"),
        ("Auth:Keys:0:Scopes:1", "read"),
        ("Auth:Keys:0:Scopes:2", "manage"),
    ];

    protected override string? ApiKey => Key;
}
