using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Requests;

/// <summary>
/// Issue 20's Idempotency-Key on the real stack: 50 concurrent repeats over two Api instances get one answer
/// and make one task (its callee called once); the same key with another body is 422 and changes nothing;
/// keys are each API key's own; every creating route takes one; a .NET producer's key makes one task.
/// </summary>
public sealed class IdempotencyTests : SystemTest
{
    static readonly (string, string?)[] Keys =
    [
        ("Auth:AllowAnonymous", "false"),
        ("Auth:Keys:0:Name", "alice"), ("Auth:Keys:0:Key", "alice-key-0123456789"), ("Auth:Keys:0:Scopes:0", "admin"),
        ("Auth:Keys:1:Name", "bob"), ("Auth:Keys:1:Key", "bob-key-0123456789"), ("Auth:Keys:1:Scopes:0", "submit"), ("Auth:Keys:1:Scopes:1", "read"),
    ];

    static HttpClient Client(ApiHost api, string key) =>
        new() { BaseAddress = api.Http.BaseAddress, DefaultRequestHeaders = { { "X-Api-Key", key } }, Timeout = TimeSpan.FromSeconds(60) };

    static async Task<(HttpStatusCode Status, string Body, bool Replayed)> PostAsync(HttpClient http, string path, string body, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
            request.Headers.Add("Idempotency-Key", key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Fifty_concurrent_repeats_over_two_api_instances_make_one_task_and_get_one_answer()
    {
        await using var peer = await LoopbackServer.StartAsync();
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(_ => { });
        var first = Client(await System.StartApiAsync(Keys), "alice-key-0123456789");
        var second = Client(await System.StartApiAsync(Keys), "alice-key-0123456789");
        var path = $"/task/new?callee={Uri.EscapeDataString(peer.Url("/work"))}";

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => PostAsync(i % 2 == 0 ? first : second, path, """{"n":1}""", "order-42")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        var id = Assert.Single(answers.Select(a => JsonDocument.Parse(a.Body).RootElement.GetProperty("data").GetString()).Distinct());
        Assert.Equal(49, answers.Count(a => a.Replayed));
        await peer.WaitForAsync("/work", 1);
        await Task.Delay(1000);
        Assert.Single(peer.To("/work"));
        Assert.Equal(1, await System.CountAsync("SELECT count(*) FROM tasks"));
        Assert.Equal(1, await System.CountAsync($"SELECT count(*) FROM tasks WHERE id = '{id}'"));

        // The same key with another body: refused, nothing made.
        var changed = await PostAsync(second, path, """{"n":2}""", "order-42");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changed.Status);
        Assert.Equal("Idempotency-Key", JsonDocument.Parse(changed.Body).RootElement.GetProperty("field").GetString());
        // Bob's "order-42" is his own.
        var bobs = await PostAsync(Client(await System.StartApiAsync(Keys), "bob-key-0123456789"), path, """{"n":1}""", "order-42");
        Assert.Equal(HttpStatusCode.OK, bobs.Status);
        Assert.NotEqual(id, JsonDocument.Parse(bobs.Body).RootElement.GetProperty("data").GetString());
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM tasks"), n => n == 2, what: "bob's task");

        var invalid = await PostAsync(first, path, "{}", new string('k', 256));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Equal("Idempotency-Key", JsonDocument.Parse(invalid.Body).RootElement.GetProperty("field").GetString());
        Assert.Equal(2, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    [Fact]
    public async Task Every_route_that_creates_work_takes_a_key_and_a_dotnet_producer_too()
    {
        await using var peer = await LoopbackServer.StartAsync();
        await System.StartSchedulerAsync([.. Cron.TimerClusterTests.QuartzSettings]);
        var runs = new ConcurrentQueue<int>();
        await System.StartWorkerAsync(w => w.Register("Once", (int n) => { runs.Enqueue(n); return n; }));
        var api = Client(await System.StartApiAsync(Keys), "alice-key-0123456789");
        var cron = $$$"""
            {"name": "nightly", "count": 0, "cronJob": {"second": "0", "minute": "0", "hour": "3", "dom": "*", "month": "*", "dow": "*"},
             "startAt": 0, "stopAt": 0, "isMultipleEntry": false, "callback": {"url": "{{{peer.Url("/cron")}}}", "method": "POST", "params": "{}"}}
            """;
        foreach (var (path, body, table) in new[]
        {
            ($"/callback/new?callback={Uri.EscapeDataString(peer.Url("/cb"))}&setTimeout=3600000", """{"x":1}""", "callbacks"),
            ("/v1/task", cron, "cron_tasks"),
            ("/v1/task/quick", $$$"""{"name": "once", "time": 4000000000, "callback": {"url": "{{{peer.Url("/q")}}}", "method": "POST"}}""", "cron_tasks"),
        })
        {
            var before = await System.CountAsync($"SELECT count(*) FROM {table}");
            var one = await PostAsync(api, path, body, $"key-{path}");
            var two = await PostAsync(api, path, body, $"key-{path}");
            Assert.True(one.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"{path}: {one.Status} {one.Body}");
            Assert.Equal((one.Status, one.Body), (two.Status, two.Body));
            Assert.True(two.Replayed);
            Assert.Equal(before + 1, await System.CountAsync($"SELECT count(*) FROM {table}"));
        }

        var client = await System.StartClientAsync();
        var id1 = await client.SendTaskAsync(TaskSignature.Create("Once", 7), new SendTaskOptions(IdempotencyKey: "import-2026-12-01"));
        var id2 = await client.SendTaskAsync(TaskSignature.Create("Once", 7), new SendTaskOptions(IdempotencyKey: "import-2026-12-01"));
        Assert.Equal(id1, id2);
        Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(id1, TimeSpan.FromSeconds(30))).Status);
        await Task.Delay(1000);
        Assert.Equal([7], runs.ToArray());
    }
}
