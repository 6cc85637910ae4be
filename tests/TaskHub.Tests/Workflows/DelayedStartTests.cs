using System.Collections.Concurrent;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Workflows;

/// <summary>Issue 18's <c>Eta</c> and <c>Countdown</c> on the real stack: a stored due time, never early, once, across a Scheduler restart.</summary>
public sealed class DelayedStartTests : SystemTest
{
    [Fact]
    public async Task An_ETA_task_survives_a_Scheduler_restart_and_runs_once_not_early()
    {
        var scheduler = await System.StartSchedulerAsync();
        var runs = new ConcurrentQueue<DateTimeOffset>();
        await System.StartWorkerAsync(w => w.Register("Later", (long n) => { runs.Enqueue(DateTimeOffset.UtcNow); return n; }));
        var client = await System.StartClientAsync();

        var eta = DateTimeOffset.UtcNow.AddSeconds(4);
        var id = await client.SendTaskAsync(TaskSignature.Create("Later", 7) with { Eta = eta });
        var waiting = await TestSystem.EventuallyAsync(() => client.GetStatusAsync(id), s => s is not null, what: "the delayed task recorded");
        Assert.Equal(TaskStatuses.Waiting, waiting!.Status);
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM tasks WHERE id = '{id}' AND current_state = 'Delayed' AND start_at IS NOT NULL"));

        // The only Scheduler goes away before the task is due, and a new one comes after.
        await System.StopAsync(scheduler);
        await Task.Delay(eta - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
        Assert.Empty(runs);
        await System.StartSchedulerAsync();

        var done = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));
        Assert.Equal((TaskStatuses.Success, "7"), (done.Status, done.Response));
        await Task.Delay(1500);
        var ran = Assert.Single(runs);
        Assert.True(ran >= eta, $"ran {(eta - ran).TotalMilliseconds:0} ms early");
    }

    [Fact]
    public async Task A_countdown_starts_no_earlier_than_its_delay_once_each_and_a_cancelled_one_never()
    {
        var scheduler = await System.StartSchedulerAsync();
        var runs = new ConcurrentDictionary<long, DateTimeOffset>();
        var calls = 0;
        await System.StartWorkerAsync(w => w.Register("Tick", (long n) =>
        {
            Interlocked.Increment(ref calls);
            runs[n] = DateTimeOffset.UtcNow;
            return n;
        }), ("AsyncTask:Concurrency", "32"));
        var client = await System.StartClientAsync();

        var sent = new Dictionary<long, (Guid Id, DateTimeOffset NotBefore)>();
        for (var n = 0; n < 40; n++)
        {
            var countdown = TimeSpan.FromMilliseconds(200 + n * 50);
            var notBefore = DateTimeOffset.UtcNow + countdown;
            sent[n] = (await client.SendTaskAsync(TaskSignature.Create("Tick", n) with { Countdown = countdown }), notBefore);
        }
        var cancelled = await client.SendTaskAsync(TaskSignature.Create("Tick", 99) with { Countdown = TimeSpan.FromSeconds(3) });
        await TestSystem.EventuallyAsync(() => client.GetStatusAsync(cancelled), s => s is not null, what: "the task to cancel recorded");
        await System.Bus(scheduler).SendTaskCommandAsync(new CancelTask(cancelled, "test", DateTimeOffset.UtcNow));

        foreach (var (n, (id, _)) in sent)
        {
            var done = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));
            Assert.True(done.Status == TaskStatuses.Success, $"task {n}: {done}");
        }
        await Task.Delay(3500);
        Assert.Equal(40, Volatile.Read(ref calls));
        Assert.All(sent, s => Assert.True(runs[s.Key] >= s.Value.NotBefore, $"task {s.Key} ran {(s.Value.NotBefore - runs[s.Key]).TotalMilliseconds:0} ms early"));
        var gone = await client.GetStatusAsync(cancelled);
        // The .NET client speaks the seed's four words: a cancelled task reads as a failure saying so.
        Assert.Equal((TaskStatuses.Failure, "cancelled by test", 0), (gone!.Status, gone.Error, gone.Attempts));
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM tasks WHERE id = '{cancelled}' AND current_state = 'Cancelled'"));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            client.SendTaskAsync(TaskSignature.Create("Tick", 1) with { Countdown = TimeSpan.FromSeconds(-1) }).GetAwaiter().GetResult());
    }
}
