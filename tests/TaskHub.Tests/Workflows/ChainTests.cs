using System.Collections.Concurrent;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Workflows;

/// <summary>
/// Issue 18's first part on the real stack: followers (OnSuccess, OnError, Immutable), chains built on them, and a
/// handler's <see cref="RetryLaterException"/>.
/// </summary>
public sealed class ChainTests : SystemTest
{
    [Fact]
    public async Task A_chain_of_three_passes_each_result_to_the_next_step()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w
            .Register("Add", (long a, long b) => a + b)
            .Register("Mul", (long a, long b) => a * b)
            .Register("Greet", (string name) => $"hello {name}"));
        var client = await System.StartClientAsync();

        var chain = await client.SendChainAsync(
            TaskSignature.Create("Add", 1, 2),
            TaskSignature.Create("Add", 10),
            TaskSignature.Create("Mul", 2) with { OnSuccess = [TaskSignature.Create("Greet", "chain") with { Immutable = true }] });

        var ids = chain.TaskIds;
        Assert.Equal(3, ids.Distinct().Count());
        var last = await client.WaitForResultAsync(ids[2], TimeSpan.FromSeconds(30));
        Assert.Equal((TaskStatuses.Success, "26"), (last.Status, last.Response));
        Assert.Equal("3", (await client.GetStatusAsync(ids[0]))!.Response);
        Assert.Equal("13", (await client.GetStatusAsync(ids[1]))!.Response);
        Assert.Equal(new WorkflowRow("Succeeded", "26", null), await System.WaitForWorkflowAsync(chain.WorkflowId));
        // The immutable follower ran with its own argument only.
        await TestSystem.EventuallyAsync(() => System.CountAsync(
            """SELECT count(*) FROM tasks WHERE name = 'Greet' AND current_state = 'Succeeded' AND response = '"hello chain"'"""), n => n == 1,
            what: "the immutable follower");
        Assert.Equal(4, await System.CountAsync("SELECT count(*) FROM tasks"));

        // A chain sent again with its idempotency key is the same chain, step by step.
        var keyed = new SendTaskOptions(IdempotencyKey: "chain-1");
        var once = await client.SendChainAsync([TaskSignature.Create("Add", 1, 2), TaskSignature.Create("Add", 10)], keyed);
        var again = await client.SendChainAsync([TaskSignature.Create("Add", 1, 2), TaskSignature.Create("Add", 10)], keyed);
        Assert.Equal(once.WorkflowId, again.WorkflowId);
        Assert.Equal(once.TaskIds, again.TaskIds);
        Assert.Equal("13", (await client.WaitForResultAsync(again.TaskIds[1], TimeSpan.FromSeconds(30))).Response);
        Assert.Equal(6, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    [Fact]
    public async Task A_failing_step_stops_the_chain_and_runs_its_OnError_once_with_the_error()
    {
        await System.StartSchedulerAsync();
        var errors = new ConcurrentQueue<(string Error, long Order)>();
        var multiplied = 0;
        await System.StartWorkerAsync(w => w
            .Register("Add", (long a, long b) => a + b)
            .Register("Fail", (long n) => n > 0 ? throw new InvalidOperationException($"no good: {n}") : n)
            .Register("Record", (string error, long order) => { errors.Enqueue((error, order)); return true; })
            .Register("Mul", (long a, long b) => { Interlocked.Increment(ref multiplied); return a * b; }),
            ("AsyncTask:Tasks:Fail:Attempts", "2"), ("AsyncTask:Tasks:Fail:AttemptAfterMs", "10"));
        var client = await System.StartClientAsync();

        var chain = await client.SendChainAsync(
            TaskSignature.Create("Add", 1, 2),
            TaskSignature.Create("Fail") with { OnError = [TaskSignature.Create("Record", 7)] },
            TaskSignature.Create("Mul", 2));

        var ids = chain.TaskIds;
        var failed = await client.WaitForResultAsync(ids[1], TimeSpan.FromSeconds(30));
        Assert.Equal((TaskStatuses.Failure, 2), (failed.Status, failed.Attempts));
        await TestSystem.EventuallyAsync(() => Task.FromResult(errors.Count), n => n >= 1, what: "the OnError follower");
        await Task.Delay(1500);
        var (error, order) = Assert.Single(errors);
        Assert.Contains("no good: 3", error);
        Assert.Equal(7, order);
        Assert.Null(await client.GetStatusAsync(ids[2]));
        Assert.Equal(0, multiplied);
        var workflow = await System.WaitForWorkflowAsync(chain.WorkflowId);
        Assert.Equal("Failed", workflow!.State);
        Assert.Contains("chain member 1 failed", workflow.Error);
        Assert.Contains("no good: 3", workflow.Error);
    }

    [Fact]
    public async Task RetryLater_runs_the_task_again_after_the_delay_without_holding_a_slot_or_an_attempt()
    {
        await System.StartSchedulerAsync();
        var runs = new ConcurrentQueue<(string What, DateTimeOffset At)>();
        await System.StartWorkerAsync(w => w
            .Register("Later", (ITaskContext task) =>
            {
                runs.Enqueue(("later", DateTimeOffset.UtcNow));
                return task.Attempt == 1 ? throw new RetryLaterException(TimeSpan.FromSeconds(3), "the data is not there yet") : task.Attempt;
            })
            .Register("Quick", () => { runs.Enqueue(("quick", DateTimeOffset.UtcNow)); return 1; }),
            ("AsyncTask:Concurrency", "1"), ("AsyncTask:Tasks:Later:Attempts", "1"));
        var client = await System.StartClientAsync();

        var later = await client.SendTaskAsync(TaskSignature.Create("Later"));
        await TestSystem.EventuallyAsync(() => Task.FromResult(runs.Count), n => n >= 1, what: "the first run");
        var waiting = await TestSystem.EventuallyAsync(() => client.GetStatusAsync(later), s => s?.Error is not null, what: "the postponement");
        Assert.Contains("retry later: the data is not there yet", waiting!.Error);
        // The one slot is free meanwhile.
        var quick = await client.SendTaskAsync(TaskSignature.Create("Quick"));
        Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(quick, TimeSpan.FromSeconds(10))).Status);

        var done = await client.WaitForResultAsync(later, TimeSpan.FromSeconds(30));
        Assert.Equal((TaskStatuses.Success, "2", 2), (done.Status, done.Response, done.Attempts));
        var order = runs.ToArray();
        Assert.Equal(["later", "quick", "later"], order.Select(r => r.What));
        Assert.True(order[2].At - order[0].At >= TimeSpan.FromSeconds(2.9), $"ran again after {(order[2].At - order[0].At).TotalSeconds:0.00} s");
    }
}
