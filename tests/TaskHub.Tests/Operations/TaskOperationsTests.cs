using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Operations;

/// <summary>
/// Issue 16's task routes on the real stack: list filters and keyset paging (stable while tasks arrive),
/// cancel in every state (a waiting group member never runs and frees its place; a running handler's token
/// fires; a late result is ignored; a cancel racing the finish leaves exactly one outcome), retry of a
/// failed task as a new run with the earlier one kept, delete, and the bulk forms with their cap.
/// </summary>
public sealed class TaskOperationsTests : SystemTest
{
    ApiHost _api = null!;
    ITaskClient _client = null!;
    readonly ConcurrentDictionary<string, int> _runs = new();
    readonly ConcurrentQueue<string> _cancelledTokens = new();
    readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    async Task StartAsync()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w
            .Register("Ok", (string key) => Count(key))
            // Fails on its first run of a key, succeeds after.
            .Register("FailsOnce", (string key) => Count(key) == 1 ? throw new InvalidOperationException($"first run of {key}") : key)
            .Register("Blocks", async (string key, CancellationToken token) =>
            {
                Count(key);
                try
                {
                    await _release.Task.WaitAsync(token);
                }
                catch (OperationCanceledException)
                {
                    _cancelledTokens.Enqueue(key);
                    throw;
                }
                return key;
            })
            // Ignores its token: finishes when released, after its task was cancelled.
            .Register("Stubborn", async (string key) =>
            {
                Count(key);
                await _release.Task;
                return key;
            })
            .Register("Quick", async (int ms) =>
            {
                await Task.Delay(ms);
                return ms;
            }), ("AsyncTask:Tasks:FailsOnce:Attempts", "1"), ("Worker:StartedReportDelayMs", "0"));
        _api = await System.StartApiAsync();
        _client = await System.StartClientAsync();
    }

    int Count(string key) => _runs.AddOrUpdate(key, 1, (_, n) => n + 1);

    async Task<JsonElement> GetAsync(string path)
    {
        var response = await _api.Http.GetAsync(path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {body}");
        return body;
    }

    async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path)
    {
        var response = await _api.Http.PostAsync(path, null);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>Polls <c>GET /tasks/{id}</c> (404 while the submission is on its way) until the task has <paramref name="status"/>.</summary>
    Task<JsonElement> StatusAsync(Guid id, string status) =>
        TestSystem.EventuallyAsync(async () =>
            {
                var response = await _api.Http.GetAsync($"/tasks/{id}");
                return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            },
            t => t.ValueKind == JsonValueKind.Object && t.GetProperty("status").GetString() == status, TimeSpan.FromSeconds(30), $"task {id} to be {status}");

    static List<Guid> Ids(JsonElement page) => page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetGuid()).ToList();

    [Fact]
    public async Task The_list_filters_pages_newest_first_and_stays_stable_while_tasks_arrive()
    {
        await StartAsync();
        var ok = new List<Guid>();
        for (var i = 0; i < 12; i++)
            ok.Add(await _client.SendTaskAsync(TaskSignature.Create("Ok", $"ok-{i}")));
        var failed = new List<Guid>();
        for (var i = 0; i < 3; i++)
            failed.Add(await _client.SendTaskAsync(TaskSignature.Create("FailsOnce", $"f-{i}")));
        foreach (var id in ok) await StatusAsync(id, TaskStatuses.Success);
        foreach (var id in failed) await StatusAsync(id, TaskStatuses.Failure);

        var failures = await GetAsync("/tasks?status=FAILURE");
        Assert.Equal(failed.OrderBy(x => x), Ids(failures).OrderBy(x => x));
        Assert.All(failures.GetProperty("items").EnumerateArray(),
            t => Assert.StartsWith("InvalidOperationException: first run of f-", t.GetProperty("error").GetString()));
        Assert.Equal(12, Ids(await GetAsync("/tasks?name=Ok&limit=500")).Count);
        Assert.Equal([failed[1]], Ids(await GetAsync("/tasks?q=f-1")));
        Assert.Equal([ok[3]], Ids(await GetAsync($"/tasks?q={ok[3]}")));
        Assert.Empty(Ids(await GetAsync($"/tasks?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"))}")));

        // Pages of 5 while new tasks arrive between the reads: every task there was before the first page, once, newest first.
        var before = Ids(await GetAsync("/tasks?limit=500"));
        Assert.Equal(15, before.Count);
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await GetAsync("/tasks?limit=5" + (cursor is null ? "" : $"&cursor={cursor}"));
            seen.AddRange(Ids(page));
            cursor = page.GetProperty("cursor").GetString();
            await _client.SendTaskAsync(TaskSignature.Create("Ok", $"late-{seen.Count}"));
        } while (cursor is not null);
        Assert.Equal(before, seen.Where(before.Contains).ToList());
        Assert.Equal(before.Count, seen.Intersect(before).Count());
        Assert.Equal(seen.Count, seen.Distinct().Count());

        var bad = await _api.Http.GetAsync("/tasks?status=DONE&limit=501&cursor=nope");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        foreach (var field in new[] { "status", "limit", "cursor" })
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");

        var stats = await GetAsync("/tasks/stats");
        Assert.Equal(3, stats.GetProperty("byStatus").GetProperty("FAILURE").GetInt64());
        Assert.Equal(60, stats.GetProperty("perMinute").GetArrayLength());
        Assert.Equal(3, stats.GetProperty("perMinute").EnumerateArray().Sum(m => m.GetProperty("failed").GetInt64()));
        Assert.True(stats.GetProperty("perMinute").EnumerateArray().Sum(m => m.GetProperty("submitted").GetInt64()) >= 15);
    }

    [Fact]
    public async Task A_failed_task_is_retried_as_a_new_run_with_its_earlier_run_kept()
    {
        await StartAsync();
        var id = await _client.SendTaskAsync(TaskSignature.Create("FailsOnce", "r"));
        await StatusAsync(id, TaskStatuses.Failure);

        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync($"/tasks/{id}/retry")).Status);
        var task = await StatusAsync(id, TaskStatuses.Success);

        Assert.Equal("r", task.GetProperty("response").GetString());
        Assert.Equal(2, task.GetProperty("attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("error").ValueKind);
        var run = Assert.Single(task.GetProperty("runs").EnumerateArray());
        Assert.Equal("FAILURE", run.GetProperty("status").GetString());
        Assert.Equal("InvalidOperationException: first run of r", run.GetProperty("error").GetString());
        Assert.Equal(1, run.GetProperty("attempts").GetInt32());
        Assert.Equal(2, _runs["r"]);
        // The .NET client's words are the seed's four.
        Assert.Equal(TaskStatuses.Success, (await _client.GetStatusAsync(id))!.Status);

        var again = await PostAsync($"/tasks/{id}/retry");
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("id", again.Body.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Cancelling_a_waiting_group_member_frees_its_place_and_it_never_runs()
    {
        await StartAsync();
        var peer = await LoopbackServer.StartAsync();
        await using var _ = peer;
        var blocker = await NewGroupTaskAsync(peer, "hold");
        var waiting = await NewGroupTaskAsync(peer, "cancelled");
        var third = await NewGroupTaskAsync(peer, "third");
        await peer.WaitForAsync("/hold", 1);
        await StatusAsync(blocker, TaskStatuses.Running);
        var group = await GetAsync("/groups/g");
        Assert.Equal([blocker, waiting, third], group.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("taskId").GetGuid()));
        Assert.Equal(["running", "waiting", "waiting"], group.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("state").GetString()));

        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync($"/tasks/{waiting}/cancel")).Status);
        var cancelled = await StatusAsync(waiting, TaskStatuses.Cancelled);
        Assert.StartsWith("cancelled", cancelled.GetProperty("error").GetString());
        await TestSystem.EventuallyAsync(() => GetAsync("/groups/g"), g => g.GetProperty("members").GetArrayLength() == 2, what: "the cancelled member to leave the line");

        // The blocker's confirmation frees its slot: the third goes next, the cancelled one never.
        using (var http = new HttpClient())
            (await http.PostAsJsonAsync(peer.To("/hold")[0].Query["callback"].ToString(), new { done = 1 })).EnsureSuccessStatusCode();
        await peer.WaitForAsync("/third", 1);
        await StatusAsync(third, TaskStatuses.Running);
        Assert.Empty(peer.To("/cancelled"));
        Assert.Equal(TaskStatuses.Cancelled, (await GetAsync($"/tasks/{waiting}")).GetProperty("status").GetString());

        // A running HTTP task cancelled: the callee's confirmation that comes after is not its result.
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync($"/tasks/{third}/cancel")).Status);
        await StatusAsync(third, TaskStatuses.Cancelled);
        using (var http = new HttpClient())
            await http.PostAsJsonAsync(peer.To("/third")[0].Query["callback"].ToString(), new { done = 3 });
        await Task.Delay(1000);
        var late = await GetAsync($"/tasks/{third}");
        Assert.Equal(TaskStatuses.Cancelled, late.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, late.GetProperty("response").ValueKind);
    }

    async Task<Guid> NewGroupTaskAsync(LoopbackServer peer, string path)
    {
        var response = await _api.Http.PostAsJsonAsync($"/task/new?callee={Uri.EscapeDataString(peer.Url("/" + path))}&group=g&parallels=1", new { path });
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, reply.ToString());
        return Guid.Parse(reply.GetProperty("data").GetString()!);
    }

    [Fact]
    public async Task Cancelling_a_running_task_fires_its_handlers_token_and_a_late_result_is_ignored()
    {
        await StartAsync();
        var polite = await _client.SendTaskAsync(TaskSignature.Create("Blocks", "polite"));
        var stubborn = await _client.SendTaskAsync(TaskSignature.Create("Stubborn", "stubborn"));
        await StatusAsync(polite, TaskStatuses.Running);
        await StatusAsync(stubborn, TaskStatuses.Running);

        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync($"/tasks/{polite}/cancel")).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync($"/tasks/{stubborn}/cancel")).Status);
        await StatusAsync(polite, TaskStatuses.Cancelled);
        await StatusAsync(stubborn, TaskStatuses.Cancelled);
        await TestSystem.EventuallyAsync(() => Task.FromResult(string.Join(",", _cancelledTokens)), k => k.Split(',').Contains("polite"),
            what: $"the handler's token to fire (runs: {string.Join(",", _runs.Keys)})");

        // The stubborn handler finishes now; nothing it reports changes the outcome.
        _release.TrySetResult();
        await Task.Delay(1500);
        var task = await GetAsync($"/tasks/{stubborn}");
        Assert.Equal(TaskStatuses.Cancelled, task.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("response").ValueKind);
        Assert.Equal(1, _runs["stubborn"]);
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync($"/tasks/{stubborn}/cancel")).Status);

        // A cancelled task can run again.
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync($"/tasks/{stubborn}/retry")).Status);
        var rerun = await StatusAsync(stubborn, TaskStatuses.Success);
        Assert.Equal("CANCELLED", Assert.Single(rerun.GetProperty("runs").EnumerateArray()).GetProperty("status").GetString());
        Assert.Equal(2, _runs["stubborn"]);
    }

    [Fact]
    public async Task A_cancel_racing_the_tasks_own_finish_leaves_exactly_one_outcome()
    {
        await StartAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 40; i++)
            ids.Add(await _client.SendTaskAsync(TaskSignature.Create("Quick", 20 + i % 10 * 10)));
        await Task.Delay(40);
        var answers = await Task.WhenAll(ids.Select(id => _api.Http.PostAsync($"/tasks/{id}/cancel", null)));
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.Conflict }));

        var finished = await TestSystem.EventuallyAsync(() => Task.WhenAll(ids.Select(id => GetAsync($"/tasks/{id}"))),
            tasks => tasks.All(t => t.GetProperty("status").GetString() is TaskStatuses.Success or TaskStatuses.Cancelled), TimeSpan.FromSeconds(30),
            "every task to end");
        await Task.Delay(1000);
        var settled = await Task.WhenAll(ids.Select(id => GetAsync($"/tasks/{id}")));
        for (var i = 0; i < ids.Count; i++)
        {
            var status = settled[i].GetProperty("status").GetString();
            Assert.Equal(finished[i].GetProperty("status").GetString(), status);
            // A success has its result and no error; a cancel the reverse.
            Assert.Equal(status == TaskStatuses.Success, settled[i].GetProperty("response").ValueKind != JsonValueKind.Null);
            Assert.Equal(status == TaskStatuses.Cancelled, settled[i].GetProperty("error").ValueKind != JsonValueKind.Null);
            if (answers[i].StatusCode == HttpStatusCode.Conflict)
                Assert.Equal(TaskStatuses.Success, status);
        }
    }

    [Fact]
    public async Task Delete_takes_finished_tasks_only_and_bulk_retry_is_capped()
    {
        await StartAsync();
        var failed = new List<Guid>();
        for (var i = 0; i < 12; i++)
            failed.Add(await _client.SendTaskAsync(TaskSignature.Create("FailsOnce", $"b-{i}")));
        foreach (var id in failed) await StatusAsync(id, TaskStatuses.Failure);

        var dry = await _api.Http.PostAsync("/tasks/retry?name=FailsOnce&max=5&dryRun=true", null);
        var dryBody = await dry.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(12, dryBody.GetProperty("matched").GetInt64());
        Assert.Equal(0, dryBody.GetProperty("affected").GetInt32());
        Assert.Equal(5, dryBody.GetProperty("ids").GetArrayLength());
        await Task.Delay(500);
        Assert.Equal(12, Ids(await GetAsync("/tasks?status=FAILURE")).Count);

        var real = await (await _api.Http.PostAsync("/tasks/retry?name=FailsOnce&max=5", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(5, real.GetProperty("affected").GetInt32());
        var retried = real.GetProperty("ids").EnumerateArray().Select(i => i.GetGuid()).ToList();
        // The newest first.
        Assert.Equal(failed.AsEnumerable().Reverse().Take(5).OrderBy(x => x), retried.OrderBy(x => x));
        foreach (var id in retried) await StatusAsync(id, TaskStatuses.Success);
        Assert.Equal(7, Ids(await GetAsync("/tasks?status=FAILURE")).Count);
        Assert.Equal(HttpStatusCode.BadRequest, (await _api.Http.PostAsync("/tasks/retry?status=SUCCESS", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _api.Http.PostAsync("/tasks/cancel?max=1001", null)).StatusCode);

        var running = await _client.SendTaskAsync(TaskSignature.Create("Blocks", "d"));
        await StatusAsync(running, TaskStatuses.Running);
        Assert.Equal(HttpStatusCode.Conflict, (await _api.Http.DeleteAsync($"/tasks/{running}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _api.Http.DeleteAsync($"/tasks/{failed[0]}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.Http.GetAsync($"/tasks/{failed[0]}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.Http.DeleteAsync($"/tasks/{failed[0]}")).StatusCode);
        _release.TrySetResult();
    }
}
