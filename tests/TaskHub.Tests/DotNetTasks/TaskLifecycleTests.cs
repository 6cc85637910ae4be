using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;
using TaskHub.Worker.Handlers;
using TaskHub.Worker.Samples;

namespace TaskHub.Tests.DotNetTasks;

/// <summary>The seed-002 path on the real broker and database: ITaskClient → Scheduler saga → Worker handler → state.</summary>
public sealed class TaskLifecycleTests : SystemTest
{

    [Fact]
    public async Task Seed_handler_runs_and_its_result_is_readable_from_the_api()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.RegisterWorkerHandlers(new Dictionary<string, Delegate>
        {
            ["SomeAsyncTask"] = SampleHandlers.SomeAsyncTask,
        }));
        var api = await System.StartApiAsync();
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("SomeAsyncTask", 42UL));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Success, result.Status);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(42, JsonDocument.Parse(result.Response!).RootElement.GetProperty("processed").GetInt64());

        var view = await api.Http.GetFromJsonAsync<JsonElement>($"/tasks/{id}");
        Assert.Equal(id.ToString(), view.GetProperty("id").GetString());
        Assert.Equal("SomeAsyncTask", view.GetProperty("name").GetString());
        Assert.Equal("SUCCESS", view.GetProperty("status").GetString());
        Assert.Equal(42, view.GetProperty("response").GetProperty("processed").GetInt64());
        Assert.Equal(1, view.GetProperty("current").GetInt32());
        Assert.Equal(1, view.GetProperty("total").GetInt32());
        Assert.Equal("processed item 42", view.GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("error").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, view.GetProperty("startedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, view.GetProperty("finishedAt").ValueKind);
    }

    [Fact]
    public async Task Failing_handler_is_retried_with_its_delay_then_fails_with_the_error()
    {
        var runs = new ConcurrentQueue<DateTime>();
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("AlwaysFails", (int n) =>
        {
            runs.Enqueue(DateTime.UtcNow);
            throw new InvalidOperationException($"boom {n}");
        }), ("AsyncTask:Tasks:AlwaysFails:Attempts", "3"), ("AsyncTask:Tasks:AlwaysFails:AttemptAfterMs", "300"));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("AlwaysFails", 7));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Failure, result.Status);
        Assert.Equal(3, result.Attempts);
        Assert.Equal("InvalidOperationException: boom 7", result.Error);
        var times = runs.ToArray();
        Assert.Equal(3, times.Length);
        for (var i = 1; i < times.Length; i++)
            Assert.True(times[i] - times[i - 1] >= TimeSpan.FromMilliseconds(290), $"retry {i} came after {(times[i] - times[i - 1]).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Handler_that_fails_then_recovers_succeeds_on_a_later_attempt()
    {
        var calls = 0;
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Flaky", () =>
        {
            if (Interlocked.Increment(ref calls) < 3)
                throw new IOException("transient");
            return "third time lucky";
        }, new() { Attempts = 5, AttemptAfterMs = 50 }));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("Flaky"));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Success, result.Status);
        Assert.Equal(3, result.Attempts);
        Assert.Equal("\"third time lucky\"", result.Response);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_long_wait_between_attempts_is_stored_frees_the_slot_and_survives_a_worker_restart()
    {
        var calls = 0;
        void Handlers(TaskHub.Worker.TaskHubWorkerBuilder w) => w
            .Register("SlowRetry", () =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                    throw new IOException("first attempt fails");
                return "second attempt";
            }, new() { Attempts = 2, AttemptAfterMs = 3000 })
            .Register("Quick", () => "quick")
            .StartWorker("", 1); // one slot: the quick task can only run if the waiting one does not hold it
        await System.StartSchedulerAsync(("Outbox:PollInterval", "00:00:00.200"));
        var worker = await System.StartWorkerAsync(Handlers);
        var client = await System.StartClientAsync();

        var slow = await client.SendTaskAsync(TaskSignature.Create("SlowRetry"));
        // The next attempt waits as a due row, not in the Worker.
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM outbox_messages WHERE message_type LIKE 'TaskHub.Contracts.Messages.ExecuteTask,%'"),
            n => n == 1, what: "the next attempt to be stored");
        var quick = await client.WaitForResultAsync(await client.SendTaskAsync(TaskSignature.Create("Quick")), TimeSpan.FromSeconds(10));
        Assert.Equal(TaskStatuses.Success, quick.Status);
        // The Worker reports the failed attempt before it stores the next one, but the Scheduler may take the report after
        // the quick task's events (its endpoint consumes concurrently): RUNNING once it has.
        await TestSystem.EventuallyAsync(() => client.GetStatusAsync(slow), s => s?.Status == TaskStatuses.Running, TimeSpan.FromSeconds(10),
            "the slow task to show RUNNING while its next attempt waits");

        // The Worker that ran the first attempt goes; the next one runs the second.
        await System.StopAsync(worker);
        await System.StartWorkerAsync(Handlers);
        var result = await client.WaitForResultAsync(slow, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Success, result.Status);
        Assert.Equal(2, result.Attempts);
        Assert.Equal("\"second attempt\"", result.Response);
        Assert.Equal(2, calls);
        Assert.True(result.FinishedAt - result.StartedAt >= TimeSpan.FromSeconds(2.5), $"ran again after {result.FinishedAt - result.StartedAt}, before its wait");
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM outbox_messages"));
    }

    [Fact]
    public async Task Timeout_cancels_the_handlers_token_and_fails_the_task()
    {
        var cancelled = new TaskCompletionSource();
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Hangs", async (ITaskContext ctx) =>
        {
            using var _ = ctx.CancellationToken.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
        }));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("Hangs"), new SendTaskOptions(Policy: new TaskPolicy(Attempts: 1, TimeoutMs: 500)));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Failure, result.Status);
        Assert.StartsWith("timeout", result.Error);
        Assert.True(cancelled.Task.IsCompleted, "the handler's token was not cancelled");
    }

    [Fact]
    public async Task Handler_that_ignores_its_token_is_abandoned_after_the_grace()
    {
        var release = new TaskCompletionSource();
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Stubborn", async () => await release.Task),
            ("Worker:TimeoutGraceMs", "200"));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("Stubborn"), new SendTaskOptions(Policy: new TaskPolicy(Attempts: 2, RetryDelayMs: 0, TimeoutMs: 300)));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));
        release.SetResult();

        Assert.Equal(TaskStatuses.Failure, result.Status);
        Assert.Equal(2, result.Attempts);
        Assert.StartsWith("timeout", result.Error);
        Assert.True(result.FinishedAt - result.StartedAt < TimeSpan.FromSeconds(5), $"took {result.FinishedAt - result.StartedAt}");
    }

    [Fact]
    public async Task Unknown_task_name_fails_with_a_reason()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Known", () => 1));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("NoSuchTask", 1, "x"));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Failure, result.Status);
        Assert.Contains("unknown task name 'NoSuchTask'", result.Error);
    }

    [Fact]
    public async Task Arguments_that_do_not_fit_the_handler_fail_without_retrying()
    {
        var calls = 0;
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("TakesNumber", (ulong id) => Interlocked.Increment(ref calls), new() { Attempts = 3 }));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("TakesNumber", "not a number"));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskStatuses.Failure, result.Status);
        Assert.Contains("does not convert to UInt64", result.Error);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Unknown_or_malformed_id_is_a_404_problem()
    {
        var api = await System.StartApiAsync();

        var missing = await api.Http.GetAsync($"/tasks/{Guid.NewGuid()}");
        var malformed = await api.Http.GetAsync("/tasks/not-an-id");

        foreach (var response in new[] { missing, malformed })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("id", problem.GetProperty("field").GetString());
        }
    }
}
