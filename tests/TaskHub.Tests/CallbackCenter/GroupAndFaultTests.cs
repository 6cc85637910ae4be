using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using System.Text;
using System.Text.Json;
using MassTransit;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.CallbackCenter;

/// <summary>Concurrency groups, timeouts, retries, polling, timer durability and bad input of the callback center.</summary>
public sealed class GroupAndFaultTests : CallbackCenterTest
{
    /// <summary>A callee that confirms after a pause and records how many of its calls overlap.</summary>
    (ConcurrentQueue<int> Order, Func<int> MaxConcurrent) MapExclusiveWork(string path, int workMs)
    {
        var order = new ConcurrentQueue<int>();
        var running = 0;
        var max = 0;
        Peer.Map(path, async (request, context) =>
        {
            order.Enqueue(Json(request.Body).GetProperty("n").GetInt32());
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref max, now);
            await context.Response.WriteAsJsonAsync(new { ok = true });
            var callback = request.Query["callback"].ToString();
            _ = Task.Run(async () =>
            {
                await Task.Delay(workMs);
                Interlocked.Decrement(ref running); // before confirming: the next may start as soon as we confirm
                using var http = new HttpClient();
                await http.PostAsJsonAsync(callback, new { ok = true });
            });
        });
        return (order, () => Volatile.Read(ref max));
    }

    static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    [Fact]
    public async Task A_group_runs_one_at_a_time_in_submission_order_across_two_schedulers()
    {
        await StartTaskHubAsync();
        await System.StartSchedulerAsync(); // a second Scheduler shares the saga and gate queues
        var (order, maxConcurrent) = MapExclusiveWork("/work", 150);
        var other = MapExclusiveWork("/other", 50);

        var ids = new List<string>();
        for (var n = 1; n <= 6; n++)
            ids.Add(await PostAsync("/task/new", new { n }, ("callee", Peer.Url("/work")), ("group", "transfer")));
        for (var n = 1; n <= 3; n++)
            await PostAsync("/task/new", new { n }, ("callee", Peer.Url("/other")), ("group", "reports"));

        foreach (var id in ids)
            await TaskInStatusAsync(id, "SUCCESS", TimeSpan.FromSeconds(60));
        Assert.Equal([1, 2, 3, 4, 5, 6], order.ToArray());
        Assert.Equal(1, maxConcurrent());
        await TestSystem.EventuallyAsync(() => Task.FromResult(other.Order.Count), c => c == 3, what: "the other group to finish");
        Assert.Equal([1, 2, 3], other.Order.ToArray());
    }

    /// <summary>
    /// The CI's broker kill left an HTTP task RUNNING: the broker lost the call's message with its crash and the Worker's
    /// fence dropped the outbox's resent copy as "under way". Here the Worker stops mid-call, the broker's copy is purged,
    /// and the resent copy calls the callee again, which confirms.
    /// </summary>
    [Fact]
    public async Task A_callee_call_a_stopped_worker_let_go_of_runs_from_the_resent_copy_when_the_broker_lost_its_own()
    {
        var scheduler = await System.StartSchedulerAsync();
        var worker = await System.StartWorkerAsync(_ => { }, ("Worker:StopGrace", "00:00:01"));
        Api = await System.StartApiAsync();
        var calls = 0;
        Peer.Map("/work", async (request, context) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
                await Task.Delay(Timeout.Infinite, context.RequestAborted); // the first call hangs until its Worker stops
            await context.Response.WriteAsJsonAsync(new { ok = true });
            using var http = new HttpClient();
            await http.PostAsJsonAsync(request.Query["callback"].ToString(), new { confirmed = true });
        });
        var id = Guid.Parse(await PostAsync("/task/new", new { n = 1 }, ("callee", Peer.Url("/work"))));
        await Peer.WaitForAsync("/work", 1);
        await System.WaitForStateAsync(id, "Running");

        await System.StopAsync(worker);
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM released_attempts WHERE task_id = '{id}' AND taken_at IS NULL"));
        await System.PurgeQueueAsync("taskhub.http");

        await System.StartWorkerAsync(_ => { });
        await using (var database = NpgsqlDataSource.Create(System.Database))
        {
            var stored = (string)(await database.CreateCommand($"SELECT http FROM tasks WHERE id = '{id}'").ExecuteScalarAsync())!;
            var resent = new CallCallee(id, JsonSerializer.Deserialize<HttpTask>(stored)!, null);
            var queue = await System.Bus(scheduler).GetSendEndpoint(new Uri("exchange:taskhub.http"));
            await queue.Send(resent, TestSystem.Resent);
        }

        var task = await TaskInStatusAsync(id.ToString(), "SUCCESS", TimeSpan.FromSeconds(30));
        Assert.True(task.GetProperty("response").GetProperty("confirmed").GetBoolean(), task.ToString());
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Parallels_lets_that_many_of_a_group_run_at_once()
    {
        await StartTaskHubAsync();
        var (order, maxConcurrent) = MapExclusiveWork("/work", 400);

        var ids = new List<string>();
        for (var n = 1; n <= 6; n++)
            ids.Add(await PostAsync("/task/new", new { n }, ("callee", Peer.Url("/work")), ("group", "pair"), ("parallels", "2")));

        foreach (var id in ids)
            await TaskInStatusAsync(id, "SUCCESS", TimeSpan.FromSeconds(60));
        Assert.Equal(2, maxConcurrent());
        Assert.Equal(6, order.Count);
    }

    [Fact]
    public async Task An_unconfirmed_task_times_out_tells_its_callback_and_releases_its_group()
    {
        await StartTaskHubAsync();
        Peer.Map("/never-confirms", async (_, context) => await context.Response.WriteAsJsonAsync(new { ok = true }));
        MapConfirmingWork("/work", _ => new { ok = true, data = "second ran" });

        var stuck = await PostAsync("/task/new", new { }, ("callee", Peer.Url("/never-confirms")), ("callback", Peer.Url("/callback")),
            ("group", "g"), ("timeout", "700"));
        var next = await PostAsync("/task/new", new { }, ("callee", Peer.Url("/work")), ("callback", Peer.Url("/next-callback")), ("group", "g"));

        var failed = await TaskInStatusAsync(stuck, "FAILURE", TimeSpan.FromSeconds(30));
        Assert.Equal("timeout", failed.GetProperty("error").GetString());
        var callback = Json((await Peer.WaitForAsync("/callback", 1)).Single().Body);
        Assert.False(callback.GetProperty("ok").GetBoolean());
        Assert.Equal("timeout", callback.GetProperty("error").GetString());
        Assert.Equal(stuck, callback.GetProperty("id").GetString());
        await TaskInStatusAsync(next, "SUCCESS", TimeSpan.FromSeconds(30));
        Assert.Equal("second ran", Json((await Peer.WaitForAsync("/next-callback", 1)).Single().Body).GetProperty("data").GetString());
    }

    [Fact]
    public async Task A_failing_callee_is_retried_then_the_task_fails_and_the_callback_hears_it()
    {
        await StartTaskHubAsync(("AsyncTask:Tasks:http:AttemptAfterMs", "100"));
        Peer.Map("/broken", async (_, context) => { context.Response.StatusCode = 503; await context.Response.WriteAsync("down"); });

        var id = await PostAsync("/task/new", new { }, ("callee", Peer.Url("/broken")), ("callback", Peer.Url("/callback")), ("attempts", "3"));

        var task = await TaskInStatusAsync(id, "FAILURE");
        Assert.Equal(3, task.GetProperty("attempts").GetInt32());
        Assert.Equal("callee answered HTTP 503", task.GetProperty("error").GetString());
        Assert.Equal(3, Peer.To("/broken").Count);
        var callback = Json((await Peer.WaitForAsync("/callback", 1)).Single().Body);
        Assert.Equal("callee answered HTTP 503", callback.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_poll_url_is_polled_until_it_says_done_and_that_answer_is_the_result()
    {
        await StartTaskHubAsync();
        var polls = 0;
        Peer.Map("/work", async (_, context) =>
            await context.Response.WriteAsJsonAsync(new { ok = true, data = new { poll = new { url = Peer.Url("/status"), interval = 100 } } }));
        Peer.Map("/status", async (_, context) =>
        {
            var n = Interlocked.Increment(ref polls);
            await context.Response.WriteAsJsonAsync(n < 3 ? new { done = false, data = (string?)null } : new { done = true, data = (string?)"finished" });
        });

        var id = await PostAsync("/task/new", new { }, ("callee", Peer.Url("/work")), ("callback", Peer.Url("/callback")));

        var task = await TaskInStatusAsync(id, "SUCCESS");
        Assert.Equal("finished", task.GetProperty("response").GetProperty("data").GetString());
        Assert.Equal(3, polls);
        Assert.Equal("finished", Json((await Peer.WaitForAsync("/callback", 1)).Single().Body).GetProperty("data").GetString());
    }

    [Fact]
    public async Task A_duplicate_delivery_message_does_not_call_the_callback_twice()
    {
        await StartTaskHubAsync();
        var scheduler = await System.StartSchedulerAsync();
        var taskId = NewId.NextGuid();
        var message = new DeliverTaskCallback(taskId, Peer.Url("/callback"), "{\"ok\":true}");

        await Task.WhenAll(System.Bus(scheduler).Publish(message), System.Bus(scheduler).Publish(message));

        await Peer.WaitForAsync("/callback", 1);
        await Task.Delay(1000);
        Assert.Single(Peer.To("/callback"));
    }

    [Fact]
    public async Task A_failing_task_callback_is_retried_from_its_row_and_delivered_once()
    {
        var answers = 0;
        Peer.Map("/callback", async (_, context) =>
        {
            // Two failures, then success: each attempt is its own message, the waits between are due times.
            context.Response.StatusCode = Interlocked.Increment(ref answers) <= 2 ? 503 : 200;
            await context.Response.WriteAsJsonAsync(new { ok = true });
        });
        var scheduler = await System.StartSchedulerAsync(("CallbackDelivery:FirstRetryDelayMs", "100"), ("CallbackDelivery:PollInterval", "00:00:00.100"));
        var taskId = NewId.NextGuid();

        await System.Bus(scheduler).Publish(new DeliverTaskCallback(taskId, Peer.Url("/callback"), "{\"done\":true}"));

        await Peer.WaitForAsync("/callback", 3);
        await TestSystem.EventuallyAsync(() => System.CountAsync($"SELECT count(*) FROM callback_deliveries WHERE task_id = '{taskId}' AND delivered_at IS NOT NULL"),
            n => n == 1, what: "the delivery to be recorded");
        await Task.Delay(1000);
        Assert.Equal(3, Peer.To("/callback").Count);
        Assert.Equal(3, await System.CountAsync($"SELECT count(*) FROM callback_attempts WHERE task_id = '{taskId}'"));
        Assert.Equal(3, await System.CountAsync($"SELECT attempts::bigint FROM callback_deliveries WHERE task_id = '{taskId}'"));
    }

    [Fact]
    public async Task A_task_callback_whose_scheduler_died_mid_attempt_is_taken_over_once_its_claim_lapses()
    {
        // As a Scheduler leaves it when it dies after claiming an attempt, before the callback answered.
        var taskId = NewId.NextGuid();
        var claimEnd = DateTimeOffset.UtcNow.AddSeconds(2);
        Assert.Equal(1, await System.ExecuteAsync(
            "INSERT INTO callback_deliveries (task_id, url, body, attempts, next_attempt_at) VALUES ($1, $2, '{\"rescued\":true}', 1, $3)",
            taskId, Peer.Url("/callback"), claimEnd));

        await System.StartSchedulerAsync(("CallbackDelivery:PollInterval", "00:00:00.200"));

        var callback = (await Peer.WaitForAsync("/callback", 1, TimeSpan.FromSeconds(15))).Single();
        Assert.True(callback.At >= claimEnd, $"delivered at {callback.At:O}, while the dead Scheduler's claim ran until {claimEnd:O}");
        Assert.True(Json(callback.Body).GetProperty("rescued").GetBoolean());
        await Task.Delay(1500);
        Assert.Single(Peer.To("/callback"));
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM callback_deliveries WHERE task_id = '{taskId}' AND delivered_at IS NOT NULL AND attempts = 2"));
    }

    [Fact]
    public async Task A_fire_whose_scheduler_died_mid_delivery_is_taken_over_once_its_claim_lapses()
    {
        Api = await System.StartApiAsync();
        var id = Guid.Parse(await PostAsync("/callback/new", new { rescued = true }, ("callback", Peer.Url("/callback")), ("setTimeout", "60000")));
        // As a Scheduler leaves it when it dies after claiming the fire, before the callback answered.
        var dueAt = DateTimeOffset.UtcNow.AddSeconds(-5);
        var claimEnd = DateTimeOffset.UtcNow.AddSeconds(2);
        Assert.Equal(1, await System.ExecuteAsync("UPDATE callbacks SET state = 'done', fired = 1, next_due_at = $2 WHERE id = $1", id, dueAt));
        Assert.Equal(1, await System.ExecuteAsync("INSERT INTO callback_fires (callback_id, fire, due_at, fired_at, claimed_until) VALUES ($1, 1, $2, $2, $3)", id, dueAt, claimEnd));

        await System.StartSchedulerAsync(("CallbackTimers:PollIntervalMs", "200"));

        var callback = (await Peer.WaitForAsync("/callback", 1, TimeSpan.FromSeconds(15))).Single();
        Assert.True(callback.At >= claimEnd, $"delivered at {callback.At:O}, while the dead Scheduler's claim ran until {claimEnd:O}");
        Assert.True(Json(callback.Body).GetProperty("rescued").GetBoolean());
        await Task.Delay(1500);
        Assert.Single(Peer.To("/callback"));
        var fire = Assert.Single((await Api.Http.GetFromJsonAsync<JsonElement>($"/callback/{id}")).GetProperty("fires").EnumerateArray());
        Assert.Equal(200, fire.GetProperty("httpStatus").GetInt32());
        Assert.Equal(0, await System.CountAsync($"SELECT count(*) FROM callback_fires WHERE callback_id = '{id}' AND settled_at IS NULL"));
    }

    [Fact]
    public async Task A_repeated_fire_message_delivers_once()
    {
        await StartTaskHubAsync();
        var scheduler = await System.StartSchedulerAsync();
        var id = Guid.Parse(await PostAsync("/callback/new", new { once = true }, ("callback", Peer.Url("/callback")), ("setTimeout", "60000")));

        // As when a lapsed lease lets a second Scheduler publish a fire the first one published already.
        await Task.WhenAll(System.Bus(scheduler).Publish(new FireCallback(id)), System.Bus(scheduler).Publish(new FireCallback(id)));

        await Peer.WaitForAsync("/callback", 1);
        await Task.Delay(1000);
        Assert.Single(Peer.To("/callback"));
        var view = await Api.Http.GetFromJsonAsync<JsonElement>($"/callback/{id}");
        Assert.Equal("done", view.GetProperty("state").GetString());
        Assert.Equal(1, view.GetProperty("fires").GetArrayLength());
    }

    [Fact]
    public async Task Expired_results_go_with_their_deliveries_and_group_place_and_ended_callbacks_with_their_fires()
    {
        await StartTaskHubAsync(("AsyncTask:ResultsExpireIn", "3"));
        MapConfirmingWork("/work", _ => new { done = true });
        var taskId = await PostAsync("/task/new", new { }, ("callee", Peer.Url("/work")), ("callback", Peer.Url("/callback")), ("group", "kept"));
        var callbackId = await PostAsync("/callback/new", new { }, ("callback", Peer.Url("/timer")), ("setTimeout", "10"));
        var rows = $"""
            SELECT (SELECT count(*) FROM tasks WHERE id = '{taskId}')
                 + (SELECT count(*) FROM callback_deliveries WHERE task_id = '{taskId}')
                 + (SELECT count(*) FROM callback_attempts WHERE task_id = '{taskId}')
                 + (SELECT count(*) FROM group_members WHERE task_id = '{taskId}' AND state = 'done')
                 + (SELECT count(*) FROM callbacks WHERE id = '{callbackId}' AND state = 'done')
                 + (SELECT count(*) FROM callback_fires WHERE callback_id = '{callbackId}')
            """;

        await TestSystem.EventuallyAsync(() => System.CountAsync(rows), n => n == 6, TimeSpan.FromSeconds(10), "the task, its delivery, attempt and group place, the callback and its fire");
        await TestSystem.EventuallyAsync(() => System.CountAsync(rows), n => n == 0, TimeSpan.FromSeconds(15), "all of them to expire");
    }

    [Fact]
    public async Task A_running_interval_keeps_only_the_fires_younger_than_results_are_kept()
    {
        await StartTaskHubAsync(("AsyncTask:ResultsExpireIn", "2"));
        var id = await PostAsync("/callback/new", new { }, ("callback", Peer.Url("/tick")), ("setInterval", "200"));

        // Fired for twice as long as fires are kept: the early ones are gone, the newest stays.
        await Peer.WaitForAsync("/tick", 20);
        await TestSystem.EventuallyAsync(() => System.CountAsync($"SELECT min(fire)::bigint FROM callback_fires WHERE callback_id = '{id}'"),
            first => first > 5, TimeSpan.FromSeconds(10), "the sweep to delete the first fires");
        Assert.Equal(1, await System.CountAsync($"""
            SELECT count(*) FROM callbacks c
            WHERE c.id = '{id}' AND c.state = 'active' AND c.fired = (SELECT max(fire) FROM callback_fires WHERE callback_id = c.id)
            """));
    }

    [Fact]
    public async Task A_timer_survives_a_scheduler_restart_and_fires_once_late()
    {
        var scheduler = await System.StartSchedulerAsync();
        Api = await System.StartApiAsync();
        var id = await PostAsync("/callback/new", new { survived = true }, ("callback", Peer.Url("/callback")), ("setTimeout", "1500"));
        await TestSystem.EventuallyAsync(async () => await System.CountAsync("SELECT count(*) FROM callbacks WHERE claimed_until IS NOT NULL"), n => n == 1,
            what: "the Scheduler to hold the timer");

        await System.StopAsync(scheduler); // every Scheduler is down when the timer is due
        await Task.Delay(2500);
        Assert.Empty(Peer.To("/callback"));
        await System.StartSchedulerAsync();

        var callback = (await Peer.WaitForAsync("/callback", 1)).Single();
        Assert.True(Json(callback.Body).GetProperty("survived").GetBoolean());
        await Task.Delay(1000);
        Assert.Single(Peer.To("/callback"));
        Assert.Equal(1, (await Api.Http.GetFromJsonAsync<JsonElement>($"/callback/{id}")).GetProperty("fired").GetInt32());
    }

    [Fact]
    public async Task A_timer_held_by_a_scheduler_that_died_fires_once_its_lease_lapses()
    {
        Api = await System.StartApiAsync();
        var id = await PostAsync("/callback/new", new { orphan = true }, ("callback", Peer.Url("/callback")), ("setTimeout", "100"));
        // Taken by a Scheduler that died before it fired (a clean stop would have given it back).
        var leaseEnd = DateTimeOffset.UtcNow.AddSeconds(3);
        Assert.Equal(1, await System.ExecuteAsync("UPDATE callbacks SET claimed_until = $1 WHERE id = $2", leaseEnd, Guid.Parse(id)));

        await System.StartSchedulerAsync(("CallbackTimers:PollIntervalMs", "200"));

        var callback = (await Peer.WaitForAsync("/callback", 1, TimeSpan.FromSeconds(15))).Single();
        Assert.True(callback.At >= leaseEnd, $"fired at {callback.At:O}, before the dead Scheduler's lease ended at {leaseEnd:O}");
        Assert.True(Json(callback.Body).GetProperty("orphan").GetBoolean());
        await Task.Delay(1000);
        Assert.Single(Peer.To("/callback"));
    }

    [Theory]
    [InlineData("/task/new", "callback=http://127.0.0.1:1/cb", "callee")]
    [InlineData("/task/new", "callee=ftp://127.0.0.1/x", "callee")]
    [InlineData("/task/new", "callee=http://127.0.0.1:1/x&callback=not-a-url", "callback")]
    [InlineData("/task/new", "callee=http://127.0.0.1:1/x&timeout=-5", "timeout")]
    [InlineData("/task/new", "callee=http://127.0.0.1:1/x&timeout=soon", "timeout")]
    [InlineData("/task/new", "callee=http://127.0.0.1:1/x&parallels=2", "parallels")]
    [InlineData("/task/new", "callee=http://127.0.0.1:1/x&group=g&parallels=0", "parallels")]
    [InlineData("/callback/new", "callee=http://127.0.0.1:1/x", "callback")]
    [InlineData("/callback/new", "callback=http://127.0.0.1:1/cb&setTimeout=-1", "setTimeout")]
    [InlineData("/callback/new", "callback=http://127.0.0.1:1/cb&setInterval=abc", "setInterval")]
    [InlineData("/callback/new", "callback=http://127.0.0.1:1/cb&window=1000", "key")]
    [InlineData("/callback/new", "callback=http://127.0.0.1:1/cb&key=k", "window")]
    [InlineData("/callback/new", "callback=http://127.0.0.1:1/cb&setTimeout=10&setInterval=10", "setTimeout")]
    [InlineData("/callback/new", "callback=http://127.0.0.1:1/cb&count=3", "count")]
    public async Task Bad_input_is_a_400_naming_the_field_and_creates_nothing(string path, string query, string field)
    {
        Api = await System.StartApiAsync();

        var response = await Api.Http.PostAsJsonAsync($"{path}?{query}", new { });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
        Assert.Equal(0, await System.CountAsync("SELECT (SELECT count(*) FROM tasks) + (SELECT count(*) FROM callbacks) + (SELECT count(*) FROM group_members)"));
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_a_400_naming_the_body()
    {
        Api = await System.StartApiAsync();
        var response = await Api.Http.PostAsync("/task/new?callee=http://127.0.0.1:1/x", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("body", out _));
    }

    [Fact]
    public async Task A_url_outside_the_allowlist_is_refused()
    {
        Api = await System.StartApiAsync(("Outbound:AllowLoopback", "false"));
        var response = await Api.Http.PostAsJsonAsync($"/task/new?callee={Uri.EscapeDataString(Peer.Url("/work"))}", new { });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("loopback", problem.GetProperty("errors").GetProperty("callee")[0].GetString());
    }
}
