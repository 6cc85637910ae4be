using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using MassTransit;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Tests.Infrastructure;
using TaskHub.Worker;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.DotNetTasks;

/// <summary>What must hold under concurrency and faults: no lost update, no task run twice in the normal path, no task lost or stuck.</summary>
public sealed class TaskDurabilityTests : SystemTest
{
    [Fact]
    public async Task A_resent_work_message_runs_neither_an_attempt_under_way_nor_a_finished_task()
    {
        var calls = 0;
        var release = new TaskCompletionSource();
        var scheduler = await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Held", async () =>
        {
            Interlocked.Increment(ref calls);
            await release.Task;
            return "done";
        }));
        var client = await System.StartClientAsync();
        var id = await client.SendTaskAsync(TaskSignature.Create("Held"));
        await System.WaitForStateAsync(id, "Running");

        // As the outbox relay sends a message again when it cannot know the first send went.
        var resent = new ExecuteTask(id, TaskSignature.Create("Held"), null);
        // To the task queue's exchange, as the relay sends work: a queue: address would declare it without x-max-priority (TaskQueues).
        var queue = await System.Bus(scheduler).GetSendEndpoint(new Uri("exchange:taskhub.task"));
        await queue.Send(resent, TestSystem.Resent);
        await Task.Delay(1000);
        Assert.Equal(1, calls);

        release.SetResult();
        Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(id, TimeSpan.FromSeconds(20))).Status);
        await queue.Send(resent, TestSystem.Resent);
        await Task.Delay(1000);
        Assert.Equal(1, calls);
        Assert.Equal(1, (await System.ReadTaskAsync(id))!.Attempts);
    }

    /// <summary>
    /// The CI's broker kill left a task Running: its Worker was stopped mid-attempt by the broker's crash, the broker had not
    /// written the work message to disk, and the outbox's resent copy was dropped as "under way". Here the Worker stops
    /// mid-attempt, the broker's copy is purged (as that crash lost it), and the resent copy runs the attempt, once.
    /// </summary>
    [Fact]
    public async Task A_resent_work_message_runs_the_attempt_a_stopped_worker_let_go_of_when_the_broker_lost_its_copy()
    {
        var calls = 0;
        var scheduler = await System.StartSchedulerAsync();
        Action<TaskHubWorkerBuilder> handlers = w => w.Register("HeldOnce", async (ITaskContext ctx) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
                await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            return "done";
        });
        var worker = await System.StartWorkerAsync(handlers, ("Worker:StartedReportDelayMs", "0"), ("Worker:StopGrace", "00:00:01"));
        var client = await System.StartClientAsync();
        var id = await client.SendTaskAsync(TaskSignature.Create("HeldOnce"));
        await System.WaitForStateAsync(id, "Running");

        await System.StopAsync(worker);
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM released_attempts WHERE task_id = '{id}' AND taken_at IS NULL"));
        await System.PurgeQueueAsync("taskhub.task");

        await System.StartWorkerAsync(handlers);
        var resent = new ExecuteTask(id, TaskSignature.Create("HeldOnce"), null);
        var queue = await System.Bus(scheduler).GetSendEndpoint(new Uri("exchange:taskhub.task"));
        await queue.Send(resent, TestSystem.Resent);
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal(TaskStatuses.Success, result.Status);
        Assert.Equal("\"done\"", result.Response);
        Assert.Equal(2, calls);

        // The release was taken: another resent copy finds the task finished, and nothing runs again.
        await queue.Send(resent, TestSystem.Resent);
        await Task.Delay(1000);
        Assert.Equal(2, calls);
        Assert.Equal(0, await System.CountAsync($"SELECT count(*) FROM released_attempts WHERE task_id = '{id}' AND taken_at IS NULL"));
    }

    [Fact]
    public async Task A_task_submitted_before_any_scheduler_ever_started_runs_when_one_starts()
    {
        var client = await System.StartClientAsync();
        var id = await client.SendTaskAsync(TaskSignature.Create("Answer"));

        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Answer", () => 42));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));
        Assert.Equal("42", result.Response);
    }

    [Fact]
    public async Task A_finished_task_is_recorded_before_a_backlog_of_submissions_is_taken_in()
    {
        var scheduler = await System.StartSchedulerAsync();
        var worker = await System.StartWorkerAsync(_ => { });
        var client = await System.StartClientAsync();
        var id = await client.SendTaskAsync(TaskSignature.Create("Manual"), new SendTaskOptions(Queue: "nobody-listens"));
        await System.WaitForStateAsync(id, "Waiting");

        // While no Scheduler runs, a burst of submissions queues, and after it the task's report.
        await System.StopAsync(scheduler);
        const int burst = 3000;
        await Task.WhenAll(Enumerable.Range(0, burst).Select(_ =>
            client.SendTaskAsync(TaskSignature.Create("Manual"), new SendTaskOptions(Queue: "nobody-listens"))));
        await System.Bus(worker).Publish(new TaskSucceeded(id, 1, "42", DateTimeOffset.UtcNow));

        await System.StartSchedulerAsync();
        await System.WaitForStateAsync(id, "Succeeded");
        var takenIn = await System.CountAsync("SELECT count(*) FROM tasks") - 1;
        Assert.True(takenIn < burst / 2, $"the report waited until {takenIn} of the {burst} submissions were taken in");
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM tasks"), n => n == burst + 1,
            TimeSpan.FromSeconds(60), "every submission of the burst to be taken in");
    }

    [Fact]
    public async Task A_submission_sent_to_the_queue_of_earlier_versions_still_runs()
    {
        var scheduler = await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Answer", () => 42));
        // Before submissions had a queue of their own they went to the saga's one queue, which now takes the reports.
        var endpoint = await System.Bus(scheduler).GetSendEndpoint(TaskHubBus.QueueAddress("taskhub.task-state"));
        var id = NewId.NextGuid();
        await endpoint.Send(new SubmitTask(id, TaskSignature.Create("Answer"), null, null, DateTimeOffset.UtcNow));

        var row = await System.WaitForStateAsync(id, "Succeeded");
        Assert.Equal("42", row!.Response);
    }

    [Fact]
    public async Task Result_is_readable_until_it_expires_then_gone()
    {
        await System.StartSchedulerAsync(("AsyncTask:ResultsExpireIn", "2"));
        await System.StartWorkerAsync(w => w.Register("Answer", () => 42));
        var api = await System.StartApiAsync();
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("Answer"));
        var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30));
        Assert.Equal("42", result.Response);
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/tasks/{id}")).StatusCode);

        await TestSystem.EventuallyAsync(() => System.ReadTaskAsync(id), row => row is null, TimeSpan.FromSeconds(15), "the sweeper to delete the expired row");
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/tasks/{id}")).StatusCode);
        Assert.Null(await client.GetStatusAsync(id));
    }

    [Fact]
    public async Task Fifty_concurrent_progress_events_lose_no_update()
    {
        var scheduler = await System.StartSchedulerAsync(("Scheduler:SagaConcurrency", "32"));
        var client = await System.StartClientAsync();
        var bus = System.Bus(scheduler);
        // Nobody consumes this queue: the task stays where the test puts it.
        var id = await client.SendTaskAsync(TaskSignature.Create("Manual"), new SendTaskOptions(Queue: "nobody-listens"));
        await System.WaitForStateAsync(id, "Waiting");
        var start = DateTimeOffset.UtcNow;
        await bus.Publish(new TaskStarted(id, 1, start, start.AddMinutes(5)));
        await System.WaitForStateAsync(id, "Running");

        // Reports 1..50 race each other in a shuffled order; the newest (50) must win. With a
        // lost update, a stale writer would leave an older report in place.
        var reports = Enumerable.Range(1, 50).OrderBy(_ => Random.Shared.Next()).ToArray();
        await Task.WhenAll(reports.Select(i => bus.Publish(new TaskProgressed(id, i, 50, $"step {i}", start.AddMilliseconds(i)))));

        var row = await TestSystem.EventuallyAsync(() => System.ReadTaskAsync(id), r => r?.Current == 50, TimeSpan.FromSeconds(20), "progress 50/50");
        Assert.Equal("step 50", row!.Message);
        Assert.Equal(50, row.Total);
        Assert.Equal("Running", row.State);
    }

    [Fact]
    public async Task Concurrent_attempt_reports_for_one_task_all_apply()
    {
        await System.StartSchedulerAsync();
        var client = await System.StartClientAsync();
        var scheduler = await System.StartSchedulerAsync();
        var bus = System.Bus(scheduler);
        var id = await client.SendTaskAsync(TaskSignature.Create("Manual"), new SendTaskOptions(Queue: "nobody-listens"));
        await System.WaitForStateAsync(id, "Waiting");

        // Two Schedulers consume these 50 events at once: every one lands on the same row.
        await Task.WhenAll(Enumerable.Range(1, 50).Select(i => bus.Publish(new TaskAttemptFailed(id, i, $"attempt {i}", DateTimeOffset.UtcNow))));
        await TestSystem.EventuallyAsync(() => System.ReadTaskAsync(id), r => r?.Attempts == 50, TimeSpan.FromSeconds(20), "attempts to reach 50");
        await bus.Publish(new TaskSucceeded(id, 51, "\"done\"", DateTimeOffset.UtcNow));
        var row = await System.WaitForStateAsync(id, "Succeeded");
        Assert.Equal(51, row!.Attempts);
    }

    [Fact]
    public async Task Two_workers_on_one_queue_share_the_work_and_run_each_task_once()
    {
        var runs = new ConcurrentDictionary<Guid, ConcurrentBag<string>>();
        Delegate Handler(string worker) => async (ITaskContext ctx) =>
        {
            runs.GetOrAdd(ctx.TaskId, _ => []).Add(worker);
            await Task.Delay(20);
        };
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Work", Handler("a")).StartWorker("", 2));
        await System.StartWorkerAsync(w => w.Register("Work", Handler("b")).StartWorker("", 2));
        var client = await System.StartClientAsync();

        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.SendTaskAsync(TaskSignature.Create("Work"))));
        foreach (var id in ids)
            Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(id, TimeSpan.FromSeconds(60))).Status);

        Assert.Equal(40, runs.Count);
        Assert.All(runs.Values, workers => Assert.Single(workers));
        var byWorker = runs.Values.SelectMany(w => w).GroupBy(w => w).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(byWorker.GetValueOrDefault("a") > 0 && byWorker.GetValueOrDefault("b") > 0, $"work was not shared: {string.Join(", ", byWorker)}");
    }

    [Fact]
    public async Task Worker_killed_mid_task_leaves_it_to_be_redelivered_and_it_succeeds_once()
    {
        await System.StartSchedulerAsync();
        var client = await System.StartClientAsync();
        using var doomed = StartWorkerProcess("doomed-queue");
        try
        {
            var id = await client.SendTaskAsync(TaskSignature.Create("Sleep", 20_000), new SendTaskOptions(Queue: "doomed-queue"));
            await System.WaitForStateAsync(id, "Running", TimeSpan.FromSeconds(60));

            doomed.Kill(entireProcessTree: true); // SIGKILL: no ack, no goodbye
            await doomed.WaitForExitAsync();

            var runs = 0;
            await System.StartWorkerAsync(w => w.Register("Sleep", (int ms) => Interlocked.Increment(ref runs)).StartWorker("doomed-queue", 1));
            var result = await client.WaitForResultAsync(id, TimeSpan.FromSeconds(60));

            Assert.Equal(TaskStatuses.Success, result.Status);
            Assert.Equal(1, runs);
            await Task.Delay(500); // nothing else arrives later to change the outcome
            Assert.Equal("Succeeded", (await System.ReadTaskAsync(id))!.State);
        }
        finally
        {
            if (!doomed.HasExited)
                doomed.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Poison_execute_message_lands_in_the_error_queue_and_fails_the_task()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Fine", () => 1).StartWorker("poison-queue", 1));
        var client = await System.StartClientAsync();
        var scheduler = await System.StartSchedulerAsync();
        // A real task, parked on a queue no Worker reads, then a broken execute message for it.
        var id = await client.SendTaskAsync(TaskSignature.Create("Fine"), new SendTaskOptions(Queue: "parked"));
        await System.WaitForStateAsync(id, "Waiting");

        var endpoint = await System.Bus(scheduler).GetSendEndpoint(new Uri("exchange:poison-queue"));
        await endpoint.Send(new ExecuteTask(id, null!, null));

        var row = await System.WaitForStateAsync(id, "Failed", TimeSpan.FromSeconds(30));
        Assert.StartsWith("worker could not process the task", row!.Error);
        var errorQueue = await TestSystem.EventuallyAsync(
            // The error queue is declared when the first message moves there, possibly after the task failed.
            async () =>
            {
                var response = await System.Stack.ManagementClient.GetAsync($"api/queues/{System.VirtualHost}/poison-queue_error");
                return response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement : default;
            },
            q => q.ValueKind == JsonValueKind.Object && q.TryGetProperty("messages", out var m) && m.GetInt32() == 1, TimeSpan.FromSeconds(20), "one message in poison-queue_error");
        Assert.Equal(1, errorQueue.GetProperty("messages").GetInt32());
    }

    /// <summary>A real Worker process (the built TaskHub.Worker with its sample handlers), so it can be killed without a clean shutdown.</summary>
    Process StartWorkerProcess(string queue)
    {
        var testBin = AppContext.BaseDirectory; // tests/TaskHub.Tests/bin/<Configuration>/net10.0/
        var configuration = new DirectoryInfo(testBin.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var dll = Path.Combine(TestSystem.RepoRoot, "src", "Worker", "bin", configuration, "net10.0", "TaskHub.Worker.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        foreach (var (key, value) in System.Settings(("Worker:Samples", "true"), ("AsyncTask:DefaultQueue", queue)))
            start.Environment[key.Replace(":", "__")] = value;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
