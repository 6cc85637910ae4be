using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.CallbackCenter;

/// <summary>Seed 000's six snippets, each as its express app does it, against a real TaskHub.</summary>
public class SeedSnippetTests : CallbackCenterTest
{
    [Fact]
    public async Task Snippet1_task_new_calls_the_callee_and_delivers_its_confirmed_result_to_the_callback()
    {
        await StartTaskHubAsync();
        MapConfirmingWork("/work", _ => new { ok = true, data = "work done" });

        var id = await PostAsync("/task/new", new { item = 7 },
            ("callee", Peer.Url("/work?tenant=a")), ("callback", Peer.Url("/callback")), ("group", "transfer"));

        var callback = (await Peer.WaitForAsync("/callback", 1)).Single();
        Assert.Equal("work done", Json(callback.Body).GetProperty("data").GetString());
        var work = Peer.To("/work").Single();
        Assert.Equal(7, Json(work.Body).GetProperty("item").GetInt32());
        Assert.Equal(id, work.Query["id"].ToString());
        Assert.Equal("a", work.Query["tenant"].ToString()); // the callee's own query is kept
        Assert.Equal($"/task/end/{id}", new Uri(work.Query["callback"].ToString()).AbsolutePath);
        AssertSigned(work);
        AssertSigned(callback);

        var task = await TaskInStatusAsync(id, "SUCCESS");
        Assert.Equal("work done", task.GetProperty("response").GetProperty("data").GetString());
        Assert.Equal(Peer.Url("/work?tenant=a"), task.GetProperty("callee").GetString());
        var attempts = (await TestSystem.EventuallyAsync(() => TaskAsync(id),
            t => t.GetProperty("callbackAttempts").GetArrayLength() == 1, what: "the callback attempt to be recorded")).GetProperty("callbackAttempts");
        Assert.Equal(200, attempts[0].GetProperty("httpStatus").GetInt32());
    }

    [Fact]
    public async Task Snippet2_callback_new_as_the_callee_completes_the_outer_task_with_the_callees_answer()
    {
        await StartTaskHubAsync();
        Peer.Map("/work", async (request, context) =>
        {
            await Task.Delay(300); // the synchronous slow API
            await context.Response.WriteAsJsonAsync(new { ok = true, data = "working done", got = Json(request.Body) });
        });
        var inner = new Uri(Api.Http.BaseAddress!, WithQuery("/callback/new", ("callee", Peer.Url("/work")))).ToString();

        var id = await PostAsync("/task/new", new { n = 1 }, ("callee", inner), ("callback", Peer.Url("/callback")), ("group", "transfer"));

        var callback = Json((await Peer.WaitForAsync("/callback", 1)).Single().Body);
        Assert.Equal("working done", callback.GetProperty("data").GetString());
        Assert.Equal(1, callback.GetProperty("got").GetProperty("n").GetInt32());
        await TaskInStatusAsync(id, "SUCCESS");
    }

    [Fact]
    public async Task Snippet3_setTimeout_calls_back_once_after_the_delay()
    {
        await StartTaskHubAsync();
        var sent = DateTimeOffset.UtcNow;

        var id = await PostAsync("/callback/new", new { hello = "later" }, ("callee", ""), ("callback", Peer.Url("/callback")), ("setTimeout", "1500"));

        var callback = (await Peer.WaitForAsync("/callback", 1)).Single();
        Assert.Equal("later", Json(callback.Body).GetProperty("hello").GetString());
        Assert.True(callback.At - sent >= TimeSpan.FromMilliseconds(1400), $"fired after {(callback.At - sent).TotalMilliseconds} ms");
        await Task.Delay(1000);
        Assert.Single(Peer.To("/callback"));
        var view = await Api.Http.GetFromJsonAsync<JsonElement>($"/callback/{id}");
        Assert.Equal("done", view.GetProperty("state").GetString());
        Assert.Equal(1, view.GetProperty("fired").GetInt32());
    }

    [Fact]
    public async Task Snippet4_setInterval_fires_repeatedly_until_deleted()
    {
        await StartTaskHubAsync();
        var id = await PostAsync("/callback/new", new { tick = true }, ("callback", Peer.Url("/callback")), ("setInterval", "300"));

        await Peer.WaitForAsync("/callback", 3);
        var delete = await Api.Http.DeleteAsync($"/callback/{id}");
        Assert.True(delete.IsSuccessStatusCode);
        await Task.Delay(400); // a fire already under way may still land
        var afterDelete = Peer.To("/callback").Count;
        await Task.Delay(1200);

        Assert.Equal(afterDelete, Peer.To("/callback").Count);
        var view = await Api.Http.GetFromJsonAsync<JsonElement>($"/callback/{id}");
        Assert.Equal("cancelled", view.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Snippet4_setInterval_stops_after_count_and_on_a_truthy_data_answer()
    {
        await StartTaskHubAsync();
        var answers = 0;
        Peer.Map("/stop-on-second", async (_, context) =>
            await context.Response.WriteAsJsonAsync(new { ok = true, data = Interlocked.Increment(ref answers) >= 2 }));

        var counted = await PostAsync("/callback/new", new { }, ("callback", Peer.Url("/counted")), ("setInterval", "200"), ("count", "3"));
        await PostAsync("/callback/new", new { }, ("callback", Peer.Url("/stop-on-second")), ("setInterval", "200"));

        await Peer.WaitForAsync("/counted", 3);
        await Peer.WaitForAsync("/stop-on-second", 2);
        await Task.Delay(1200);
        Assert.Equal(3, Peer.To("/counted").Count);
        Assert.Equal(2, Peer.To("/stop-on-second").Count);
        var view = await Api.Http.GetFromJsonAsync<JsonElement>($"/callback/{counted}");
        Assert.Equal("done", view.GetProperty("state").GetString());
        Assert.Equal(3, view.GetProperty("fires").GetArrayLength());
    }

    [Fact]
    public async Task Snippet5_debounce_collapses_a_burst_into_one_callback_with_the_latest_body()
    {
        await StartTaskHubAsync();
        var ids = new List<string>();
        for (var i = 1; i <= 5; i++)
            ids.Add(await PostAsync("/callback/new", new { version = i }, ("callee", ""), ("callback", Peer.Url("/callback")), ("key", "k1"), ("window", "1500")));

        var callback = (await Peer.WaitForAsync("/callback", 1)).Single();
        Assert.Equal(5, Json(callback.Body).GetProperty("version").GetInt32());
        Assert.Single(ids.Distinct());
        await Task.Delay(2000);
        Assert.Single(Peer.To("/callback"));

        // The window is closed: the next request opens a new one.
        var next = await PostAsync("/callback/new", new { version = 6 }, ("callback", Peer.Url("/callback")), ("key", "k1"), ("window", "300"));
        Assert.NotEqual(ids[0], next);
        await Peer.WaitForAsync("/callback", 2);
        Assert.Equal(6, Json(Peer.To("/callback")[1].Body).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task Snippet6_a_chain_of_six_steps_passes_the_nonce_along()
    {
        await StartTaskHubAsync();
        var steps = Enumerable.Range(1, 6).Select(i => $"/task/step{i}").ToArray();
        foreach (var step in steps)
            Peer.Map(step, async (request, context) =>
            {
                var nonce = Json(request.Body).GetProperty("nonce").GetInt32() + 1;
                await context.Response.WriteAsJsonAsync(new { ok = true, poll = new { url = "" } });
                _ = Task.Run(async () =>
                {
                    using var http = new HttpClient();
                    await http.PostAsJsonAsync(request.Query["callback"].ToString(), new { nonce });
                });
            });

        // As the seed composes it: step i's callback is the /task/new URL of step i+1.
        var url = "";
        for (var i = steps.Length - 1; i >= 0; i--)
        {
            var u = new UriBuilder(new Uri(Api.Http.BaseAddress!, "/task/new"));
            var query = $"callee={Uri.EscapeDataString(Peer.Url(steps[i]))}";
            if (url.Length > 0)
                query += $"&callback={Uri.EscapeDataString(url)}";
            u.Query = query;
            url = u.Uri.ToString();
        }
        var first = await Api.Http.PostAsJsonAsync(url, new { nonce = 0 });
        Assert.True(first.IsSuccessStatusCode);

        await Peer.WaitForAsync(steps[^1], 1, TimeSpan.FromSeconds(60));
        for (var i = 0; i < steps.Length; i++)
            Assert.Equal(i, Json(Peer.To(steps[i]).Single().Body).GetProperty("nonce").GetInt32());
        var order = Peer.Requests.Where(r => r.Path.StartsWith("/task/step")).Select(r => r.Path).ToArray();
        Assert.Equal(steps, order);
    }

    static void AssertSigned(ReceivedRequest request)
    {
        var timestamp = request.Headers["X-TaskHub-Timestamp"].ToString();
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(TestSystem.SigningKey),
            Encoding.UTF8.GetBytes($"{timestamp}.{request.Body}")));
        Assert.Equal(expected, request.Headers["X-TaskHub-Signature"].ToString());
    }
}

/// <summary>
/// Every seed snippet again with keys required (<c>Auth:AllowAnonymous</c> false): the client sends its key,
/// callees confirm through the capability URL they were given, and a chain's step (a callback to TaskHub's
/// own <c>/task/new</c>) is TaskHub calling itself, known by its signature.
/// </summary>
public sealed class SeedSnippetWithKeyTests : SeedSnippetTests
{
    const string Key = "seed-snippet-key-0123456789";

    protected override (string, string?)[] AccessSettings =>
    [
        ("Auth:AllowAnonymous", "false"),
        ("Auth:Keys:0:Name", "seed"),
        ("Auth:Keys:0:Key", Key),
        ("Auth:Keys:0:Scopes:0", "submit"),
        ("Auth:Keys:0:Scopes:1", "read"),
        ("Auth:Keys:0:Scopes:2", "manage"),
    ];

    protected override string? ApiKey => Key;
}
