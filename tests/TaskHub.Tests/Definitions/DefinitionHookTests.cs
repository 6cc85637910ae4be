using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Npgsql;
using TaskHub.Api.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Tests.Infrastructure;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Definitions;

/// <summary>Seed 001's <c>event</c> hooks: once per event, in order per task, after the change is committed; a failing one never changes the outcome.</summary>
public sealed class DefinitionHookTests : DefinitionTest
{
    sealed record HookRow(int Seq, string Event, int Attempts, bool Delivered, bool GaveUp, string? LastError);

    async Task<IReadOnlyList<HookRow>> HooksOfAsync(Guid taskId)
    {
        await using var connection = new NpgsqlConnection(System.Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT seq, event, attempts, delivered_at IS NOT NULL, gave_up_at IS NOT NULL, last_error FROM task_hooks WHERE task_id = $1 ORDER BY seq",
            connection);
        command.Parameters.AddWithValue(taskId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<HookRow>();
        while (await reader.ReadAsync())
            rows.Add(new HookRow(reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetBoolean(3), reader.GetBoolean(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        return rows;
    }

    List<JsonElement> HooksAt(string path, Guid taskId) =>
        Peer.To(path).Select(r => Json(r.Body)).Where(h => h.GetProperty("id").GetGuid() == taskId).ToList();

    /// <summary>Lets the handler go on only once the hook of its last report has been delivered, so reports and hooks keep one order.</summary>
    Task HookDeliveredAsync(string path, Guid taskId, int current) =>
        TestSystem.EventuallyAsync(() => Task.FromResult(HooksAt(path, taskId)),
            hooks => hooks.Any(h => h.GetProperty("event").GetString() == "progress" && h.GetProperty("current").GetInt32() == current),
            TimeSpan.FromSeconds(30), $"the progress hook {current}");

    [Fact]
    public async Task Webhooks_fire_once_per_event_in_order_with_their_payloads()
    {
        Define("hooked", new { process = "Steps", @event = new { add = Peer.Url("/hook"), progress = Peer.Url("/hook"), success = Peer.Url("/hook"), error = Peer.Url("/hook") } });
        Define("broken", new { process = "Breaks", @event = new { add = Peer.Url("/broken"), success = Peer.Url("/broken"), error = Peer.Url("/broken") } });
        await StartAsync(w => w
            .Register("Steps", async (ITaskContext ctx) =>
            {
                await ctx.ReportProgressAsync(1, 2, "first half");
                await HookDeliveredAsync("/hook", ctx.TaskId, 1);
                await ctx.ReportProgressAsync(2, 2, "second half");
                await HookDeliveredAsync("/hook", ctx.TaskId, 2);
                return new { result = "done" };
            })
            .Register("Breaks", () => { throw new InvalidOperationException("no disk"); }));

        var id = await AddNewAsync("hooked");
        var broken = await AddNewAsync("broken");
        await WaitForStatusAsync("hooked", id, "SUCCESS");
        await WaitForStatusAsync("broken", broken, "FAILURE");
        await TestSystem.EventuallyAsync(() => Task.FromResult(HooksAt("/hook", id).Count), n => n >= 4, what: "four hooks");
        await TestSystem.EventuallyAsync(() => Task.FromResult(HooksAt("/broken", broken).Count), n => n >= 2, what: "two hooks");

        // A hook message that comes again (at-least-once delivery) is not delivered again.
        var scheduler = await System.StartSchedulerAsync(WithFolder([]));
        await System.Bus(scheduler).Publish(new TaskHookRaised(id, 1, "hooked", "add", Peer.Url("/hook"), $$"""{"event":"add","id":"{{id}}"}"""));
        await Task.Delay(TimeSpan.FromSeconds(2));

        var hooks = HooksAt("/hook", id);
        Assert.Equal(["add", "progress", "progress", "success"], hooks.Select(h => h.GetProperty("event").GetString()));
        Assert.Equal(2, hooks[0].EnumerateObject().Count());
        Assert.Equal((1, 2, "first half"), (hooks[1].GetProperty("current").GetInt32(), hooks[1].GetProperty("total").GetInt32(), hooks[1].GetProperty("message").GetString()));
        Assert.Equal((2, "second half"), (hooks[2].GetProperty("current").GetInt32(), hooks[2].GetProperty("message").GetString()));
        Assert.Equal("done", hooks[3].GetProperty("response").GetProperty("result").GetString());
        Assert.All(Peer.To("/hook"), r => Assert.StartsWith("sha256=", r.Headers["X-TaskHub-Signature"].ToString()));
        Assert.Equal([1, 2, 3, 4], (await HooksOfAsync(id)).Select(h => h.Seq));
        Assert.All(await HooksOfAsync(id), h => Assert.Equal((1, true), (h.Attempts, h.Delivered)));

        var brokenHooks = HooksAt("/broken", broken);
        Assert.Equal(["add", "error"], brokenHooks.Select(h => h.GetProperty("event").GetString()));
        Assert.Equal("InvalidOperationException: no disk", brokenHooks[1].GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_failing_hook_is_retried_in_its_place_and_never_changes_the_outcome()
    {
        Define("shaky", new { process = "Quick", @event = new { add = Peer.Url("/add"), success = Peer.Url("/success") } });
        var addCalls = 0;
        Peer.Map("/add", async (_, context) =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref addCalls) <= 2 ? 500 : 200;
            await context.Response.WriteAsync("{}");
        });
        Peer.Map("/success", async (_, context) =>
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("hook receiver is down");
        });
        await StartAsync(w => w.Register("Quick", () => "fine"),
            ("CallbackDelivery:Attempts", "3"), ("CallbackDelivery:FirstRetryDelayMs", "200"));

        var id = await AddNewAsync("shaky");

        await WaitForStatusAsync("shaky", id, "SUCCESS");
        var rows = await TestSystem.EventuallyAsync(() => HooksOfAsync(id), r => r.Count == 2 && r.All(h => h.Delivered || h.GaveUp),
            TimeSpan.FromSeconds(30), "both hooks to be settled");
        Assert.Equal(new HookRow(1, "add", 3, true, false, null), rows[0]);
        Assert.Equal(new HookRow(2, "success", 3, false, true, "HTTP 500"), rows[1]);
        var adds = Peer.To("/add");
        var successes = Peer.To("/success");
        Assert.Equal(3, adds.Count);
        Assert.Equal(3, successes.Count);
        Assert.True(successes.Min(r => r.At) >= adds.Max(r => r.At), "the success hook overtook the add hook");
        var task = await GetAsync("shaky", id);
        Assert.Equal(("SUCCESS", "fine"), (task.GetProperty("status").GetString(), task.GetProperty("response").GetString()));
    }

    [Fact]
    public async Task Dotnet_hooks_run_in_a_worker_in_order_with_the_seeds_arguments()
    {
        Define("dotnet", new { process = "Doubles", @event = new { add = "HookAdd", progress = "HookProgress", success = "HookSuccess" } });
        Define("fails", new { process = "Boom", @event = new { error = "HookError" } });
        Define("counted", new { process = "Triples", @event = new { next = "NextId" } });
        var calls = new ConcurrentQueue<string>();
        var next = 1024;
        await StartAsync(w => w
            .Register("Doubles", async (int n, ITaskContext ctx) =>
            {
                await ctx.ReportProgressAsync(1, 1, "doubling");
                await TestSystem.EventuallyAsync(() => Task.FromResult(calls.ToArray()), c => c.Contains($"progress {ctx.TaskId} 1/1 doubling"),
                    TimeSpan.FromSeconds(30), "the progress hook");
                return n * 2;
            })
            .Register("Triples", (int n) => n * 3)
            .Register("Boom", () => { throw new InvalidOperationException("boom"); })
            .Register("HookAdd", (Guid id) => calls.Enqueue($"add {id}"))
            .Register("HookProgress", (Guid id, int current, int total, string message) => calls.Enqueue($"progress {id} {current}/{total} {message}"))
            .Register("HookSuccess", (Guid id, int response) => calls.Enqueue($"success {id} {response}"))
            .Register("HookError", (string id, string error) => calls.Enqueue($"error {id} {error}"))
            .Register("NextId", () => Interlocked.Increment(ref next)));

        var id = await AddNewAsync("dotnet", new { args = new[] { 21 } });
        var failing = await AddNewAsync("fails");
        await WaitForStatusAsync("dotnet", id, "SUCCESS");
        await WaitForStatusAsync("fails", failing, "FAILURE");

        var expected = new[] { $"add {id}", $"progress {id} 1/1 doubling", $"success {id} 42" };
        await TestSystem.EventuallyAsync(() => Task.FromResult(calls.Where(c => c.Contains(id.ToString())).ToArray()),
            c => c.Length >= expected.Length, TimeSpan.FromSeconds(30), "the dotnet hooks");
        await TestSystem.EventuallyAsync(() => Task.FromResult(calls.ToArray()), c => c.Any(x => x.StartsWith("error")),
            TimeSpan.FromSeconds(30), "the error hook");
        Assert.Equal(expected, calls.Where(c => c.Contains(id.ToString())));
        Assert.Equal($"error {failing} InvalidOperationException: boom", Assert.Single(calls, c => c.StartsWith("error")));

        // event.next gives the ids of tasks added without one.
        var first = await AddNewAsync("counted", new { args = new[] { 1 } });
        var second = await AddNewAsync("counted", new { args = new[] { 2 } });
        Assert.Equal(DefinedTaskIds.From("counted", "1025"), first);
        Assert.Equal(DefinedTaskIds.From("counted", "1026"), second);
        Assert.Equal(6, (await WaitForStatusAsync("counted", second, "SUCCESS")).GetProperty("response").GetInt32());
    }

    [Fact]
    public async Task A_next_webhook_names_tasks_added_without_an_id()
    {
        Define("seeded", new { process = "Noop", @event = new { next = Peer.Url("/next") } });
        Define("unnamed", new { process = "Noop", @event = new { next = Peer.Url("/next-down") } });
        var answers = new ConcurrentQueue<int>([1025, 1026, 1025]);
        Peer.Map("/next", (_, context) => context.Response.WriteAsJsonAsync(answers.TryDequeue(out var n) ? n : 0));
        Peer.Map("/next-down", (_, context) =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        await StartAsync(worker: null);

        var first = await AddNewAsync("seeded");
        var second = await AddNewAsync("seeded");
        var (repeatStatus, repeat) = await AddAsync("seeded");
        var own = await AddNewAsync("seeded", new { id = "mine" });

        Assert.Equal(DefinedTaskIds.From("seeded", "1025"), first);
        Assert.Equal(DefinedTaskIds.From("seeded", "1026"), second);
        Assert.Equal((HttpStatusCode.OK, first), (repeatStatus, repeat.GetProperty("id").GetGuid()));
        Assert.Equal(DefinedTaskIds.From("seeded", "mine"), own);
        Assert.Equal(first, (await GetAsync("seeded", 1025)).GetProperty("id").GetGuid());
        Assert.Equal(3, Peer.To("/next").Count);
        Assert.All(Peer.To("/next"), r => Assert.Equal("next", Json(r.Body).GetProperty("event").GetString()));

        var failed = await Api.Http.PostAsJsonAsync("/tasks/unnamed", new { });
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Equal("event.next", (await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }
}
