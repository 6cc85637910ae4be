using System.Collections.Concurrent;
using System.Text.Json;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Workflows;

/// <summary>Issue 18's groups and chords on the real stack: the workflow saga's concurrency, results in order, failure and cancel.</summary>
public sealed class GroupChordTests : SystemTest
{
    [Fact]
    public async Task A_group_of_100_with_sendConcurrency_10_never_runs_more_than_10_and_answers_the_results_in_order()
    {
        await System.StartSchedulerAsync();
        var running = 0;
        var most = 0;
        await System.StartWorkerAsync(w => w.Register("Square", async (long n, CancellationToken cancellationToken) =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                await Task.Delay(20 + (int)(n % 7) * 5, cancellationToken);
                Interlocked.Decrement(ref running);
                return n * n;
            }),
            ("AsyncTask:Concurrency", "40"));
        var client = await System.StartClientAsync();

        var group = await client.SendGroupAsync(Enumerable.Range(0, 100).Select(n => TaskSignature.Create("Square", n)), sendConcurrency: 10);

        Assert.Equal(100, group.TaskIds.Distinct().Count());
        var workflow = await System.WaitForWorkflowAsync(group.WorkflowId, TimeSpan.FromSeconds(90));
        Assert.Equal("Succeeded", workflow!.State);
        Assert.Equal(Enumerable.Range(0, 100).Select(n => (long)n * n), JsonSerializer.Deserialize<long[]>(workflow.Result!));
        Assert.InRange(most, 2, 10);
        Assert.Equal(100, await System.CountAsync($"SELECT count(*) FROM tasks WHERE workflow_id = '{group.WorkflowId}' AND current_state = 'Succeeded'"));
    }

    [Fact]
    public async Task A_chord_of_100_calls_its_callback_once_with_every_result_in_member_order()
    {
        await System.StartSchedulerAsync();
        var calls = new ConcurrentQueue<long[]>();
        await System.StartWorkerAsync(w => w
            .Register("Double", async (long n) => { await Task.Delay((int)(n % 5)); return n * 2; })
            .Register("Collect", (long[] results, string label) => { calls.Enqueue(results); return $"{label}:{results.Sum()}"; }),
            ("AsyncTask:Concurrency", "32"));
        var client = await System.StartClientAsync();

        var chord = await client.SendChordAsync(Enumerable.Range(0, 100).Select(n => TaskSignature.Create("Double", n)),
            TaskSignature.Create("Collect", "sum"));

        var workflow = await System.WaitForWorkflowAsync(chord.WorkflowId, TimeSpan.FromSeconds(90));
        Assert.Equal(new WorkflowRow("Succeeded", "\"sum:9900\"", null), workflow);
        var results = Assert.Single(calls);
        Assert.Equal(Enumerable.Range(0, 100).Select(n => n * 2L), results);
        Assert.Equal("\"sum:9900\"", (await client.GetStatusAsync(chord.CallbackId!.Value))!.Response);
        await Task.Delay(500);
        Assert.Single(calls);
    }

    [Fact]
    public async Task A_failed_member_fails_the_chord_without_its_callback_and_a_retry_that_succeeds_resumes_it()
    {
        var scheduler = await System.StartSchedulerAsync();
        var fail = true;
        var called = 0;
        await System.StartWorkerAsync(w => w
            .Register("Maybe", (long n) => n == 3 && Volatile.Read(ref fail) ? throw new InvalidOperationException("member three broke") : n)
            .Register("Total", (long[] results) => { Interlocked.Increment(ref called); return results.Sum(); }),
            ("AsyncTask:Tasks:Maybe:Attempts", "1"));
        var client = await System.StartClientAsync();

        var chord = await client.SendChordAsync(Enumerable.Range(0, 6).Select(n => TaskSignature.Create("Maybe", n)), TaskSignature.Create("Total"));

        var failed = await System.WaitForWorkflowAsync(chord.WorkflowId);
        Assert.Equal("Failed", failed!.State);
        Assert.Contains("chord member 3 failed", failed.Error);
        Assert.Contains("member three broke", failed.Error);
        await Task.Delay(500);
        Assert.Equal(0, called);
        Assert.Null(await client.GetStatusAsync(chord.CallbackId!.Value));

        // The operator's retry of the failed member: it succeeds, and the chord goes on to its callback.
        Volatile.Write(ref fail, false);
        await System.Bus(scheduler).SendTaskCommandAsync(new RetryTask(chord.TaskIds[3], "ops", DateTimeOffset.UtcNow));
        var resumed = await TestSystem.EventuallyAsync(() => System.ReadWorkflowAsync(chord.WorkflowId), r => r?.State == "Succeeded",
            what: "the chord to resume");
        Assert.Equal("15", resumed!.Result);
        Assert.Equal(1, called);
    }

    [Fact]
    public async Task Cancelling_a_group_cancels_its_running_members_and_starts_no_more()
    {
        await System.StartSchedulerAsync();
        var started = 0;
        await System.StartWorkerAsync(w => w.Register("Sleep", async (long n, CancellationToken cancellationToken) =>
        {
            Interlocked.Increment(ref started);
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            return n;
        }), ("AsyncTask:Concurrency", "8"));
        var client = await System.StartClientAsync();

        var group = await client.SendGroupAsync(Enumerable.Range(0, 20).Select(n => TaskSignature.Create("Sleep", n)), sendConcurrency: 2);
        await TestSystem.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref started)), n => n == 2, what: "two members running");
        await client.CancelWorkflowAsync(group.WorkflowId);

        var cancelled = await System.WaitForWorkflowAsync(group.WorkflowId);
        Assert.Equal(("Cancelled", "cancelled"), (cancelled!.State, cancelled.Error));
        await TestSystem.EventuallyAsync(() => System.CountAsync(
                $"SELECT count(*) FROM tasks WHERE workflow_id = '{group.WorkflowId}' AND current_state = 'Cancelled'"), n => n == 2,
            what: "the running members cancelled");
        await Task.Delay(1000);
        Assert.Equal(2, await System.CountAsync($"SELECT count(*) FROM tasks WHERE workflow_id = '{group.WorkflowId}'"));
        Assert.Equal(2, Volatile.Read(ref started));
    }

    static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
                return;
            seen = was;
        }
    }
}
