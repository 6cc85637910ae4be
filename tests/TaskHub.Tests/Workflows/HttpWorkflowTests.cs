using System.Net;
using Microsoft.AspNetCore.Http;
using System.Net.Http.Json;
using System.Text.Json;
using TaskHub.Tests.CallbackCenter;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Workflows;

/// <summary>Issue 18's <c>POST /workflows</c> against loopback callees: chains, chords and nesting, results passed along, read, cancelled.</summary>
public sealed class HttpWorkflowTests : CallbackCenterTest
{
    async Task StartAsync()
    {
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w
            .Register("Add", (long a, long b) => a + b)
            .Register("Mul", (long a, long b) => a * b)
            .Register("Sum", (long[] values) => values.Sum())
            .Register("Twice", (JsonElement result) => result.GetProperty("n").GetInt64() * 2));
        Api = await System.StartApiAsync();
        // Each callee confirms {"n": its input's n plus one}, or the sum of an array it was given.
        MapConfirmingWork("/inc", payload => new { n = payload.GetProperty("n").GetInt64() + 1 });
        MapConfirmingWork("/times10", payload => new { n = payload.GetProperty("n").GetInt64() * 10 });
        MapConfirmingWork("/total", payload => new { n = payload.EnumerateArray().Sum(r => r.GetProperty("n").GetInt64()) });
        Peer.Map("/done", async (_, context) => await context.Response.WriteAsJsonAsync(new { ok = true }));
    }

    Task<JsonElement> WorkflowAsync(string id, string status) =>
        TestSystem.EventuallyAsync(async () =>
        {
            var response = await Api.Http.GetAsync($"/workflows/{id}");
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
        }, w => w.ValueKind == JsonValueKind.Object && w.GetProperty("status").GetString() == status, TimeSpan.FromSeconds(60), $"workflow {id} to be {status}");

    [Fact]
    public async Task A_chain_of_HTTP_and_NET_tasks_passes_each_result_on_and_posts_the_last_to_its_callback()
    {
        await StartAsync();

        var id = await PostAsync("/workflows", new
        {
            chain = new object[]
            {
                new { callee = Peer.Url("/inc"), body = new { n = 1 }, timeout = 10_000, attempts = 2 },
                new { callee = Peer.Url("/inc") },
                new { name = "Twice" },
            },
            callback = Peer.Url("/done"),
        });

        var workflow = await WorkflowAsync(id, "SUCCESS");
        Assert.Equal(("chain", 6), (workflow.GetProperty("kind").GetString(), workflow.GetProperty("result").GetInt64()));
        var members = workflow.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(["SUCCESS", "SUCCESS", "SUCCESS"], members.Select(m => m.GetProperty("status").GetString()));
        Assert.Equal(2, members[0].GetProperty("result").GetProperty("n").GetInt64());
        // The second call was given the first one's result as its body.
        Assert.Equal(2, Json(Peer.To("/inc")[1].Body).GetProperty("n").GetInt64());
        var done = await Peer.WaitForAsync("/done", 1);
        Assert.Equal("6", done[0].Body);
    }

    [Fact]
    public async Task HTTP_groups_and_chords_answer_every_result_in_order_and_nesting_composes()
    {
        await StartAsync();

        var chord = await PostAsync("/workflows", new
        {
            chord = new
            {
                group = Enumerable.Range(1, 5).Select(n => new { callee = Peer.Url("/times10"), body = new { n } }).ToArray(),
                callback = new { callee = Peer.Url("/total") },
                sendConcurrency = 2,
            },
        });
        var group = await PostAsync("/workflows", new
        {
            group = Enumerable.Range(1, 4).Select(n => new { callee = Peer.Url("/inc"), body = new { n } }).ToArray(),
            sendConcurrency = 2,
        });
        var nested = await PostAsync("/workflows", new
        {
            chain = new object[]
            {
                new { name = "Add", args = new[] { 1, 2 } },
                new { group = new[] { new { name = "Mul", args = new[] { 2 } }, new { name = "Mul", args = new[] { 3 } } }, sendConcurrency = 1 },
                new { name = "Sum" },
            },
        });

        var done = await WorkflowAsync(chord, "SUCCESS");
        Assert.Equal(150, done.GetProperty("result").GetProperty("n").GetInt64());
        var total = Assert.Single(Peer.To("/total"));
        Assert.Equal([10L, 20, 30, 40, 50], Json(total.Body).EnumerateArray().Select(r => r.GetProperty("n").GetInt64()));
        var members = done.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(6, members.Count);
        Assert.Equal([false, false, false, false, false, true], members.Select(m => m.GetProperty("callback").GetBoolean()));

        var parallel = await WorkflowAsync(group, "SUCCESS");
        Assert.Equal([2L, 3, 4, 5], parallel.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("n").GetInt64()));

        var chain = await WorkflowAsync(nested, "SUCCESS");
        Assert.Equal(15, chain.GetProperty("result").GetInt64());
        var inner = chain.GetProperty("members")[1];
        Assert.Equal(("group", "SUCCESS"), (inner.GetProperty("kind").GetString(), inner.GetProperty("status").GetString()));
        Assert.Equal([6L, 9], inner.GetProperty("result").EnumerateArray().Select(r => r.GetInt64()));
        Assert.Equal(["Mul", "Mul"], inner.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Cancelling_a_workflow_over_HTTP_cancels_the_running_step_and_leaves_the_rest_unstarted()
    {
        await StartAsync();
        // A callee that takes the call and never confirms.
        Peer.Map("/hang", async (_, context) => await context.Response.WriteAsJsonAsync(new { ok = true }));

        var id = await PostAsync("/workflows", new { chain = new object[] { new { callee = Peer.Url("/hang") }, new { callee = Peer.Url("/inc") } } });
        await Peer.WaitForAsync("/hang", 1);

        var cancel = await Api.Http.PostAsync($"/workflows/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var workflow = await WorkflowAsync(id, "CANCELLED");
        var members = await TestSystem.EventuallyAsync(async () => (await WorkflowAsync(id, "CANCELLED")).GetProperty("members"),
            m => m[0].GetProperty("status").GetString() == "CANCELLED", what: "the running step cancelled");
        Assert.Equal("PENDING", members[1].GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await Api.Http.PostAsync($"/workflows/{id}/cancel", null)).StatusCode);
        Assert.Empty(Peer.To("/inc"));
        Assert.Equal(HttpStatusCode.NotFound, (await Api.Http.GetAsync($"/workflows/{Guid.NewGuid()}")).StatusCode);
    }

    [Theory]
    [InlineData("""{"chain": []}""", "chain")]
    [InlineData("""{"chain": [{"callee": "ftp://example.com/x"}]}""", "chain[0].callee")]
    [InlineData("""{"chain": [{"name": "Add"}], "group": [{"name": "Add"}]}""", "chain")]
    [InlineData("""{"group": [{"name": "Add", "args": 3}]}""", "group[0].args")]
    [InlineData("""{"group": [{"name": "Add"}], "sendConcurrency": -1}""", "sendConcurrency")]
    [InlineData("""{"chord": {"group": [{"name": "Add"}]}}""", "chord.callback")]
    [InlineData("""{"chain": [{"name": "Add", "callee": "http://127.0.0.1/x"}]}""", "chain[0].callee")]
    [InlineData("""{"chain": [{"chain": [{"nmae": "Add"}]}]}""", "chain[0].chain[0].nmae")]
    [InlineData("""{"chain": [{"name": "Add"}], "callback": 5}""", "callback")]
    public async Task A_bad_workflow_is_a_400_naming_the_field_and_starts_nothing(string body, string field)
    {
        await StartAsync();

        var response = await Api.Http.PostAsync("/workflows", new StringContent(body, global::System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
        await Task.Delay(300);
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM workflows"));
    }
}
