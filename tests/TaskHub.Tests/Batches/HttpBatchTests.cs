using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TaskHub.Tests.CallbackCenter;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Batches;

/// <summary>Issue 19's <c>POST /tasks/batch</c> against loopback callees and a .NET handler: one request, many tasks, one answer.</summary>
public sealed class HttpBatchTests : CallbackCenterTest
{
    async Task StartAsync()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Add", (long a, long b) => a + b));
        Api = await System.StartApiAsync();
        MapConfirmingWork("/inc", payload => new { n = payload.GetProperty("n").GetInt64() + 1 }, confirmAfterMs: 10);
    }

    static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    async Task<List<string>> SubmitAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/tasks/batch") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await Api.Http.SendAsync(request);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/tasks/batch answered {(int)response.StatusCode}: {reply}");
        Assert.True(reply.GetProperty("ok").GetBoolean());
        return [.. reply.GetProperty("data").EnumerateArray().Select(id => id.GetString()!)];
    }

    /// <summary>A good batch sent after a refused one: once it succeeded, the tasks table holds it and nothing else.</summary>
    async Task AssertOnlyMarkerCreatedAsync()
    {
        var marker = await SubmitAsync(new { tasks = new[] { new { name = "Add", args = new[] { 1, 1 } } } });
        await TaskInStatusAsync(marker[0], "SUCCESS");
        await TestSystem.EventuallyAsync(() => System.CountAsync("SELECT count(*) FROM outbox_messages"), n => n == 0, what: "the outbox to drain");
        Assert.Equal(1, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    [Fact]
    public async Task A_batch_of_HTTP_and_NET_tasks_all_succeed_and_the_answer_lists_their_ids_in_order()
    {
        await StartAsync();
        var tasks = Enumerable.Range(0, 40).Select(i => i % 2 == 0
            ? (object)new { callee = Peer.Url("/inc"), body = new { n = i }, timeout = 30_000, attempts = 2 }
            : new { name = "Add", args = new[] { i, 1000 } }).ToArray();

        var ids = await SubmitAsync(new { tasks });

        Assert.Equal(40, ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            var task = await TaskInStatusAsync(ids[i], "SUCCESS", TimeSpan.FromSeconds(60));
            if (i % 2 == 0)
            {
                Assert.Equal("http", task.GetProperty("name").GetString());
                Assert.Equal(i + 1, task.GetProperty("response").GetProperty("n").GetInt64());
            }
            else
            {
                Assert.Equal("Add", task.GetProperty("name").GetString());
                Assert.Equal(i + 1000, task.GetProperty("response").GetInt64());
            }
        }
        Assert.Equal(20, Peer.To("/inc").Count);
    }

    [Fact]
    public async Task A_batch_repeated_with_its_idempotency_key_answers_the_same_ids_and_creates_nothing_more()
    {
        await StartAsync();
        var body = new { tasks = Enumerable.Range(0, 5).Select(i => new { name = "Add", args = new[] { i, i } }).ToArray() };

        var first = await SubmitAsync(body, "batch-key-1");
        var again = await SubmitAsync(body, "batch-key-1");

        Assert.Equal(first, again);
        foreach (var id in first)
            await TaskInStatusAsync(id, "SUCCESS");
        Assert.Equal(5, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    [Fact]
    public async Task A_batch_of_1001_tasks_is_a_400_naming_tasks_and_creates_nothing()
    {
        await StartAsync();
        var body = JsonSerializer.Serialize(new { tasks = Enumerable.Range(0, 1001).Select(i => new { name = "Add", args = new[] { i, 0 } }) });

        using var response = await Api.Http.PostAsync("/tasks/batch", Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("tasks", out var error), $"errors name tasks: {problem}");
        Assert.Contains("1000", error[0].GetString());
        await AssertOnlyMarkerCreatedAsync();
    }

    [Theory]
    [InlineData("""{"callee": "ftp://example.com/x"}""", "tasks[3].callee")]
    [InlineData("""{"name": "Add", "args": 3}""", "tasks[3].args")]
    [InlineData("""{"name": "Add", "callee": "http://127.0.0.1/x"}""", "tasks[3].callee")]
    [InlineData("""{"nmae": "Add"}""", "tasks[3].nmae")]
    [InlineData("""{"chain": [{"name": "Add"}]}""", "tasks[3].chain")]
    [InlineData("""{"callee": "http://127.0.0.1/x", "timeout": -1}""", "tasks[3].timeout")]
    [InlineData("""7""", "tasks[3]")]
    public async Task A_bad_task_at_index_3_is_a_400_naming_its_field_and_creates_nothing(string bad, string field)
    {
        await StartAsync();
        var good = """{"name": "Add", "args": [1, 2]}""";
        var body = $$"""{"tasks": [{{good}}, {{good}}, {{good}}, {{bad}}, {{good}}]}""";

        using var response = await Api.Http.PostAsync("/tasks/batch", Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
        await AssertOnlyMarkerCreatedAsync();
    }

    [Theory]
    [InlineData("""{}""", "tasks")]
    [InlineData("""{"tasks": []}""", "tasks")]
    [InlineData("""{"tasks": {"name": "Add"}}""", "tasks")]
    [InlineData("""{"tasks": [{"name": "Add"}], "callback": "http://127.0.0.1/x"}""", "callback")]
    public async Task A_batch_without_a_list_of_tasks_is_a_400(string body, string field)
    {
        await StartAsync();

        using var response = await Api.Http.PostAsync("/tasks/batch", Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM tasks"));
    }
}
