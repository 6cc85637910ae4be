using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TaskHub.Tests.Infrastructure;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Definitions;

/// <summary>Seed 001 on the real broker and database: a definition file decides how its tasks run.</summary>
public sealed class DefinitionRunTests : DefinitionTest
{
    [Fact]
    public async Task Worker_nums_two_runs_at_most_two_at_once_in_a_worker()
    {
        Define("pool", new { worker_nums = 2, process = "Slow" });
        var running = 0;
        var max = 0;
        await StartAsync(w => w.Register("Slow", async (int n) =>
        {
            InterlockedMax(ref max, Interlocked.Increment(ref running));
            await Task.Delay(300);
            Interlocked.Decrement(ref running);
            return n;
        }));

        var ids = new List<Guid>();
        for (var n = 1; n <= 6; n++)
            ids.Add(await AddNewAsync("pool", new { args = new[] { n } }));

        for (var i = 0; i < ids.Count; i++)
        {
            var task = await WaitForStatusAsync("pool", ids[i], "SUCCESS", TimeSpan.FromSeconds(60));
            Assert.Equal(i + 1, task.GetProperty("response").GetInt32());
        }
        Assert.Equal(2, Volatile.Read(ref max));
    }

    [Fact]
    public async Task The_repositorys_sample_type_runs_the_seeds_handler_and_hooks()
    {
        var root = TestSystem.RepoRoot;
        await StartAsync(_ => { }, ("TaskHub:Tasks:Path", Path.Combine(root, "tasks")), ("Worker:Samples", "true"));

        var id = await AddNewAsync("test", new { args = new[] { 42 } });

        var done = await WaitForStatusAsync("test", id, "SUCCESS");
        Assert.Equal(42, done.GetProperty("response").GetProperty("processed").GetInt32());
        Assert.Equal("processed item 42", done.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Attempts_retry_after_attempt_after_and_the_last_error_stands()
    {
        Define("flaky", new { attempts = 3, attempt_after = 300, process = "AlwaysFails" });
        Define("recovers", new { attempts = 4, attempt_after = 50, process = "FailsTwice" });
        var runs = new ConcurrentQueue<DateTime>();
        var calls = 0;
        await StartAsync(w => w
            .Register("AlwaysFails", (string what) =>
            {
                runs.Enqueue(DateTime.UtcNow);
                throw new InvalidOperationException($"{what} failed");
            })
            .Register("FailsTwice", () => Interlocked.Increment(ref calls) < 3 ? throw new IOException("transient") : "third time"));

        var failing = await AddNewAsync("flaky", new { args = new[] { "upload" } });
        var recovering = await AddNewAsync("recovers");

        var failed = await WaitForStatusAsync("flaky", failing, "FAILURE");
        Assert.Equal("InvalidOperationException: upload failed", failed.GetProperty("error").GetString());
        Assert.Equal(3, (await System.ReadTaskAsync(failing))!.Attempts);
        var times = runs.ToArray();
        Assert.Equal(3, times.Length);
        for (var i = 1; i < times.Length; i++)
            Assert.True(times[i] - times[i - 1] >= TimeSpan.FromMilliseconds(290), $"retry {i} came after {(times[i] - times[i - 1]).TotalMilliseconds} ms");

        var recovered = await WaitForStatusAsync("recovers", recovering, "SUCCESS");
        Assert.Equal("third time", recovered.GetProperty("response").GetString());
        Assert.Equal(JsonValueKind.Null, recovered.GetProperty("error").ValueKind);
        Assert.Equal(3, (await System.ReadTaskAsync(recovering))!.Attempts);
    }

    [Fact]
    public async Task Timeout_cancels_each_attempt_and_fails_the_task()
    {
        Define("slow", new { timeout = 1, attempts = 2, attempt_after = 0, process = "Hangs" });
        var cancelled = 0;
        await StartAsync(w => w.Register("Hangs", async (ITaskContext ctx) =>
        {
            using var _ = ctx.CancellationToken.Register(() => Interlocked.Increment(ref cancelled));
            await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
        }));

        var id = await AddNewAsync("slow");

        var task = await WaitForStatusAsync("slow", id, "FAILURE");
        Assert.StartsWith("timeout", task.GetProperty("error").GetString());
        Assert.Equal(2, (await System.ReadTaskAsync(id))!.Attempts);
        Assert.Equal(2, Volatile.Read(ref cancelled));
    }

    [Fact]
    public async Task Progress_is_visible_while_running_and_kept_after_success_until_the_result_expires()
    {
        Define("report", new { process = "Reports" });
        var release = new TaskCompletionSource();
        await StartAsync(w => w.Register("Reports", async (string item, ITaskContext ctx) =>
        {
            await ctx.ReportProgressAsync(1, 3, $"step 1 of {item}");
            await release.Task.WaitAsync(ctx.CancellationToken);
            return new { done = item };
        }), ("AsyncTask:ResultsExpireIn", "4"));

        var id = await AddNewAsync("report", new { args = new[] { "import" } });

        var running = await WaitForAsync("report", id, t => t.GetProperty("status").GetString() == "RUNNING" && t.GetProperty("current").GetInt32() == 1,
            "to be RUNNING with progress");
        Assert.Equal(id, running.GetProperty("id").GetGuid());
        Assert.Equal(3, running.GetProperty("total").GetInt32());
        Assert.Equal("step 1 of import", running.GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, running.GetProperty("response").ValueKind);

        release.SetResult();
        var done = await WaitForStatusAsync("report", id, "SUCCESS");
        Assert.Equal((1, 3, "step 1 of import"), (done.GetProperty("current").GetInt32(), done.GetProperty("total").GetInt32(), done.GetProperty("message").GetString()));
        Assert.Equal("import", done.GetProperty("response").GetProperty("done").GetString());

        await TestSystem.EventuallyAsync(() => GetAsync("report", id), t => t.ValueKind == JsonValueKind.Undefined,
            TimeSpan.FromSeconds(30), "the result to expire");
    }

    [Fact]
    public async Task A_caller_chosen_id_added_twice_answers_the_first_task()
    {
        Define("once", new { process = "Count" });
        var runs = 0;
        // Returns its argument, so the response tells which submission ran; the two tasks may run in either order.
        await StartAsync(w => w.Register("Count", (int n) => { Interlocked.Increment(ref runs); return n; }));

        var (firstStatus, first) = await AddAsync("once", new { id = "order-42", args = new[] { 100 } });
        var (secondStatus, second) = await AddAsync("once", new { id = "order-42", args = new[] { 200 } });
        var (numberStatus, number) = await AddAsync("once", new { id = 42, args = new[] { 300 } });

        Assert.Equal(HttpStatusCode.Accepted, firstStatus);
        Assert.Equal(HttpStatusCode.OK, secondStatus);
        Assert.Equal(first.GetProperty("id").GetGuid(), second.GetProperty("id").GetGuid());
        Assert.Equal(HttpStatusCode.Accepted, numberStatus);
        var id = first.GetProperty("id").GetGuid();
        var done = await WaitForStatusAsync("once", id, "SUCCESS");
        Assert.Equal(100, done.GetProperty("response").GetInt32());
        await WaitForStatusAsync("once", number.GetProperty("id").GetGuid(), "SUCCESS");

        // Once finished, the same id still answers the same task, and the caller's id reads it.
        var (againStatus, again) = await AddAsync("once", new { id = "order-42" });
        Assert.Equal(HttpStatusCode.OK, againStatus);
        Assert.Equal(id, again.GetProperty("id").GetGuid());
        Assert.Equal(id, (await GetAsync("once", "order-42")).GetProperty("id").GetGuid());
        Assert.Equal(2, Volatile.Read(ref runs));
    }

    [Fact]
    public async Task Unknown_types_ids_and_fields_are_answered_with_problems_naming_them()
    {
        Define("known", new { process = "Noop" });
        Define("other", new { process = "Noop" });
        await StartAsync(w => w.Register("Noop", () => { }));

        var unknownType = await Api.Http.PostAsJsonAsync("/tasks/nope", new { args = new[] { 1 } });
        Assert.Equal(HttpStatusCode.NotFound, unknownType.StatusCode);
        var problem = await unknownType.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("name", problem.GetProperty("field").GetString());
        Assert.Contains("known", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.Http.GetAsync($"/tasks/nope/{Guid.NewGuid()}")).StatusCode);

        var unknownTask = await Api.Http.GetAsync($"/tasks/known/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknownTask.StatusCode);
        Assert.Equal("id", (await unknownTask.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        var badBody = await Api.Http.PostAsJsonAsync("/tasks/known", new { args = "not a list", id = 1.5, colour = "red" });
        Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        var errors = (await badBody.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("args", out _));
        Assert.True(errors.TryGetProperty("id", out _));
        Assert.True(errors.TryGetProperty("colour", out _));

        // A task of one type is not found under another.
        var id = await AddNewAsync("known");
        await WaitForStatusAsync("known", id, "SUCCESS");
        Assert.Equal(HttpStatusCode.NotFound, (await Api.Http.GetAsync($"/tasks/other/{id}")).StatusCode);
    }

    [Fact]
    public async Task An_http_process_is_called_with_the_id_and_args_and_its_answer_is_the_response()
    {
        Define("remote", new { attempts = 2, attempt_after = 0, process = new { url = Peer.Url("/work?tenant=a"), method = "POST" } });
        var calls = 0;
        var release = new TaskCompletionSource();
        Peer.Map("/work", async (request, context) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                context.Response.StatusCode = 503;
                await context.Response.WriteAsync("busy");
                return;
            }
            // The callee reports progress through the Api while it works, then answers.
            var progress = await Api.Http.PostAsJsonAsync($"/tasks/{request.Query["id"]}/progress", new { current = 1, total = 2, message = "half way" });
            progress.EnsureSuccessStatusCode();
            await release.Task;
            var args = Json(request.Body).GetProperty("args");
            await context.Response.WriteAsJsonAsync(new { sum = args[0].GetInt32() + args[1].GetInt32() });
        });
        await StartAsync(_ => { });

        var id = await AddNewAsync("remote", new { args = new[] { 2, 5 } });

        var running = await WaitForAsync("remote", id, t => t.GetProperty("current").GetInt32() == 1, "to show the callee's progress");
        Assert.Equal("RUNNING", running.GetProperty("status").GetString());
        Assert.Equal("half way", running.GetProperty("message").GetString());
        release.SetResult();
        var done = await WaitForStatusAsync("remote", id, "SUCCESS");
        Assert.Equal(7, done.GetProperty("response").GetProperty("sum").GetInt32());
        Assert.Equal(2, (await System.ReadTaskAsync(id))!.Attempts);

        var received = Peer.To("/work");
        Assert.Equal(2, received.Count);
        Assert.All(received, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal(id.ToString(), r.Query["id"].ToString());
            Assert.Equal("a", r.Query["tenant"].ToString());
            Assert.Equal("[2,5]", Json(r.Body).GetProperty("args").GetRawText());
            Assert.StartsWith("sha256=", r.Headers["X-TaskHub-Signature"].ToString());
        });

        // Progress never moves a finished task, and bad reports are refused naming the field.
        var late = await Api.Http.PostAsJsonAsync($"/tasks/{id}/progress", new { current = 2, total = 2 });
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        var bad = await Api.Http.PostAsJsonAsync($"/tasks/{id}/progress", new { current = -1 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("current", out _));
        Assert.True(errors.TryGetProperty("total", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await Api.Http.PostAsJsonAsync($"/tasks/{Guid.NewGuid()}/progress", new { current = 1, total = 1 })).StatusCode);
        Assert.Equal(1, (await GetAsync("remote", id)).GetProperty("current").GetInt32());
    }

    [Fact]
    public async Task An_http_process_that_keeps_failing_fails_the_task_with_its_answer()
    {
        Define("down", new { attempts = 2, attempt_after = 0, process = new { url = Peer.Url("/down") } });
        Peer.Map("/down", async (_, context) =>
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("database unavailable");
        });
        await StartAsync(_ => { });

        var id = await AddNewAsync("down");

        var failed = await WaitForStatusAsync("down", id, "FAILURE");
        Assert.Equal("HttpProcessFailedException: process answered HTTP 500: database unavailable", failed.GetProperty("error").GetString());
        Assert.Equal(2, Peer.To("/down").Count);
    }
}
