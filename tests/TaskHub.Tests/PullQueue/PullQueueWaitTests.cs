using System.Diagnostics;
using System.Text.Json;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.PullQueue;

/// <summary>
/// Long polls and calls across two Api instances. The fallback poll is set far beyond every wait here,
/// so only the database's notifications can end a wait early.
/// </summary>
public sealed class PullQueueWaitTests : SystemTest
{
    const double LongTimeout = 20;
    static readonly TimeSpan WellBeforeTimeout = TimeSpan.FromSeconds(LongTimeout / 2);

    async Task<(PullQueueClient A, PullQueueClient B)> StartTwoApisAsync()
    {
        (string, string?) notificationsOnly = ("PullQueue:PollFallbackMs", "600000");
        return (new PullQueueClient((await System.StartApiAsync(notificationsOnly)).Http),
            new PullQueueClient((await System.StartApiAsync(notificationsOnly)).Http));
    }

    [Fact]
    public async Task A_long_poll_is_woken_by_a_put_on_the_other_instance()
    {
        var (a, b) = await StartTwoApisAsync();
        var clock = Stopwatch.StartNew();
        var peek = b.PeekAsync("jobs", size: 5, timeout: LongTimeout);
        await Task.Delay(500);
        Assert.False(peek.IsCompleted);

        Assert.True(await a.PutAsync("jobs", "t1", new { n = 7 }));
        var answer = await peek;

        Assert.True(clock.Elapsed < WellBeforeTimeout, $"the peek returned after {clock.Elapsed}");
        Assert.Equal(["t1"], PullQueueClient.Ids(answer.GetProperty("data")));
        Assert.Equal(7, answer.GetProperty("data")[0].GetProperty("info").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_stopping_instance_answers_its_long_polls_at_once()
    {
        var api = await System.StartApiAsync(("PullQueue:PollFallbackMs", "600000"));
        var client = new PullQueueClient(api.Http);
        var clock = Stopwatch.StartNew();
        var peek = client.PeekAsync("jobs", timeout: LongTimeout);
        await Task.Delay(500);

        await System.StopAsync(api.App);
        var answer = await peek;

        Assert.True(clock.Elapsed < WellBeforeTimeout, $"the peek returned after {clock.Elapsed}");
        Assert.Empty(answer.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task A_call_is_served_by_a_consumer_on_the_other_instance()
    {
        var (a, b) = await StartTwoApisAsync();
        await using var consumer = new DoublingConsumer(b, "math");

        var clock = Stopwatch.StartNew();
        var answer = await a.CallAsync("math", "c1", new { n = 21 }, "abc", timeout: LongTimeout);

        Assert.True(clock.Elapsed < WellBeforeTimeout, $"the call returned after {clock.Elapsed}");
        Assert.Equal("0000", answer.GetProperty("err_code").GetString());
        var result = Assert.Single(answer.GetProperty("data").EnumerateArray());
        Assert.Equal("c1", result.GetProperty("id").GetString());
        Assert.Equal(42, result.GetProperty("result_info").GetProperty("doubled").GetInt32());
        Assert.Equal("cba", PullQueueClient.Text(result.GetProperty("result_content")));
        Assert.Equal(new[] { "c1" }, consumer.Processed);
        // The caller got the result; nothing waits in math-result for anyone to acknowledge.
        Assert.DoesNotContain("math-result", await a.ListAsync());
    }

    [Fact]
    public async Task A_call_nobody_answers_times_out_with_0001_and_its_task_stays_queued()
    {
        var (a, b) = await StartTwoApisAsync();

        var answer = await a.CallAsync("math", "c1", new { n = 1 }, timeout: 1);

        Assert.Equal("0001", answer.GetProperty("err_code").GetString());
        Assert.Empty(answer.GetProperty("data").EnumerateArray());
        Assert.Equal(["c1"], await b.PeekIdsAsync("math"));

        // Sync turned async: a consumer answers later, and the next call finds the result without waiting.
        var task = Assert.Single(await b.AcquireAsync("math", ["c1"]));
        Assert.True(await b.ReplyAsync("math", "c1", new { doubled = 2 }, lease: task.GetProperty("lease").GetInt32()));
        var later = await b.CallAsync("math", "c1", new { n = 1 }, timeout: 0);
        Assert.Equal("0000", later.GetProperty("err_code").GetString());
        Assert.Equal(2, DoublingConsumer.Doubled(later));
    }

    [Fact]
    public async Task Repeated_calls_for_one_id_are_served_by_one_task_while_its_result_is_cached()
    {
        var (a, b) = await StartTwoApisAsync();
        await using (var consumer = new DoublingConsumer(b, "math"))
        {
            var concurrent = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                (i % 2 == 0 ? a : b).CallAsync("math", "same", new { n = 5 }, timeout: LongTimeout)));
            Assert.All(concurrent, answer => Assert.Equal(10, DoublingConsumer.Doubled(answer)));

            var short1 = await a.CallAsync("math", "short", new { n = 4 }, timeout: LongTimeout, config: new { cache_result_time = 1 });
            Assert.Equal(8, DoublingConsumer.Doubled(short1));
            Assert.Equal(new[] { "same", "short" }, consumer.Processed.Order());
        }

        // The consumer is gone: only the cache can answer, and it does at once.
        var cached = await b.CallAsync("math", "same", new { n = 5 }, timeout: 0);
        Assert.Equal("0000", cached.GetProperty("err_code").GetString());
        Assert.Equal(10, DoublingConsumer.Doubled(cached));

        // After its cache time the result is gone and a call puts the task again.
        await TestSystem.EventuallyAsync(() => a.StatusAsync("math", "short"), s => s.ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(20), "the short-lived result to expire");
        var expired = await a.CallAsync("math", "short", new { n = 4 }, timeout: 0);
        Assert.Equal("0001", expired.GetProperty("err_code").GetString());
        Assert.Equal(["short"], await a.PeekIdsAsync("math"));
    }
}
