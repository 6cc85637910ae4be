using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskHub.Tests.Cron;
using TaskHub.Tests.Infrastructure;
using TaskHub.Tests.PullQueue;

namespace TaskHub.Tests.Operations;

/// <summary>
/// Issue 16's other routes on the real stack: schedules paused, resumed and fired on demand (the callee
/// counts what arrives), active callbacks listed and cancelled, pull queues with their oldest waiting age and
/// leases, Workers by their heartbeats (online, then stopped), the broker's queues from the management API
/// (and an answer, not an error, without one), and the dashboard's cookie sign-in with its CSRF rule.
/// </summary>
public sealed class MonitoringTests : SystemTest
{
    static readonly object EverySecond = new { second = "*", minute = "*", hour = "*", dom = "*", month = "*", dow = "*" };

    async Task<JsonElement> GetAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {body}");
        return body;
    }

    [Fact]
    public async Task A_schedule_is_paused_resumed_and_fired_on_demand()
    {
        await using var callee = await Callee.StartAsync();
        await System.StartSchedulerAsync([.. TimerClusterTests.QuartzSettings]);
        var api = (await System.StartApiAsync()).Http;
        var created = await api.PostAsJsonAsync("/v1/task", new
        {
            name = "nightly", count = 0, cronJob = EverySecond, startAt = 0, stopAt = 0, isMultipleEntry = true,
            callback = new { url = callee.Url("/fire"), method = "POST", @params = """{"n":1}""" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await TestSystem.EventuallyAsync(() => Task.FromResult(callee.On("/fire").Count), n => n >= 1, what: "a first fire");

        var listed = Assert.Single((await GetAsync(api, "/schedules")).EnumerateArray());
        Assert.Equal("ACTIVE", listed.GetProperty("state").GetString());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("nextFireAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("lastFiredAt").ValueKind);

        var paused = await api.PostAsync($"/schedules/{id}/pause", null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("PAUSED", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        await Task.Delay(1500); // a fire that raced the pause lands in here
        var whilePaused = callee.On("/fire").Count;
        await Task.Delay(2500);
        Assert.Equal(whilePaused, callee.On("/fire").Count);
        Assert.Equal("PAUSED", (await GetAsync(api, $"/v1/task/{id}")).GetProperty("state").GetString());
        var listedPaused = Assert.Single((await GetAsync(api, "/schedules")).EnumerateArray());
        Assert.Equal(JsonValueKind.Null, listedPaused.GetProperty("nextFireAt").ValueKind);

        // Fire now goes while paused, once.
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/schedules/{id}/fire", null)).StatusCode);
        await TestSystem.EventuallyAsync(() => Task.FromResult(callee.On("/fire").Count), n => n == whilePaused + 1, what: "the fire on demand");
        await Task.Delay(1500);
        Assert.Equal(whilePaused + 1, callee.On("/fire").Count);

        var resumed = await api.PostAsync($"/schedules/{id}/resume", null);
        Assert.Equal("ACTIVE", (await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        await TestSystem.EventuallyAsync(() => Task.FromResult(callee.On("/fire").Count), n => n >= whilePaused + 3, what: "fires after the resume");

        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync($"/schedules/{Guid.NewGuid()}/pause", null)).StatusCode);
    }

    [Fact]
    public async Task Callbacks_pull_queues_workers_and_broker_queues_are_listed()
    {
        await using var callee = await Callee.StartAsync();
        await System.StartSchedulerAsync();
        var worker = await System.StartWorkerAsync(_ => { }, ("Worker:HeartbeatInterval", "00:00:01"));
        var management = System.Stack.Management;
        var api = (await System.StartApiAsync(
            ("Operations:RabbitManagement:Url", management.GetLeftPart(UriPartial.Authority)),
            ("Operations:RabbitManagement:User", Uri.UnescapeDataString(new Uri(System.Broker).UserInfo.Split(':')[0])),
            ("Operations:RabbitManagement:Password", Uri.UnescapeDataString(new Uri(System.Broker).UserInfo.Split(':')[1])),
            ("Operations:WorkerSilentAfter", "00:00:03"))).Http;

        // A timer an hour away and an interval: both active until cancelled.
        var timer = await NewCallbackAsync(api, callee, "setTimeout", "3600000");
        var interval = await NewCallbackAsync(api, callee, "setInterval", "3600000");
        var callbacks = (await GetAsync(api, "/callbacks")).EnumerateArray().ToList();
        Assert.Equal(new[] { timer, interval }.OrderBy(x => x), callbacks.Select(c => c.GetProperty("id").GetString()).OrderBy(x => x));
        Assert.Equal("interval", callbacks.Single(c => c.GetProperty("id").GetString() == interval).GetProperty("mode").GetString());
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/callback/{timer}")).StatusCode);
        Assert.Equal([interval], (await GetAsync(api, "/callbacks")).EnumerateArray().Select(c => c.GetProperty("id").GetString()));

        var queue = new PullQueueClient(api);
        Assert.True(await queue.PutAsync("gpu", "a"), "put a");
        Assert.True(await queue.PutAsync("gpu", "b"), "put b");
        await Task.Delay(1100);
        Assert.Single(await queue.AcquireAsync("gpu", ["a"]));
        var gpu = Assert.Single((await GetAsync(api, "/pull-queues")).EnumerateArray(), q => q.GetProperty("queue").GetString() == "gpu");
        Assert.Equal(1, gpu.GetProperty("waiting").GetInt64());
        Assert.Equal(1, gpu.GetProperty("leased").GetInt64());
        Assert.True(gpu.GetProperty("oldestWaitingSeconds").GetDouble() >= 1, gpu.ToString());

        var online = await TestSystem.EventuallyAsync(() => GetAsync(api, "/workers"), w => w.GetArrayLength() == 1, what: "the Worker's heartbeat");
        var row = online[0];
        Assert.Equal("online", row.GetProperty("state").GetString());
        Assert.Equal(Environment.ProcessId, row.GetProperty("processId").GetInt32());
        Assert.Contains("taskhub.task", row.GetProperty("queues").EnumerateArray().Select(q => q.GetString()));
        await System.StopAsync(worker);
        Assert.Equal("stopped", (await GetAsync(api, "/workers"))[0].GetProperty("state").GetString());

        // The management API's counts lag the broker by its statistics interval (5 s).
        var broker = await TestSystem.EventuallyAsync(() => GetAsync(api, "/broker/queues"),
            b => b.GetProperty("queues").EnumerateArray().Any(q => q.GetProperty("name").GetString() == "taskhub.task-submit" && q.GetProperty("consumers").GetInt64() >= 1),
            TimeSpan.FromSeconds(30), "the Scheduler's submit queue with its consumer");
        Assert.True(broker.GetProperty("available").GetBoolean(), broker.ToString());
        var unconfigured = await GetAsync((await System.StartApiAsync()).Http, "/broker/queues");
        Assert.False(unconfigured.GetProperty("available").GetBoolean());
        Assert.Contains("Operations:RabbitManagement:Url", unconfigured.GetProperty("reason").GetString());
    }

    static async Task<string> NewCallbackAsync(HttpClient api, Callee callee, string mode, string ms)
    {
        var response = await api.PostAsJsonAsync($"/callback/new?callback={Uri.EscapeDataString(callee.Url("/cb"))}&{mode}={ms}", new { });
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, reply.ToString());
        return reply.GetProperty("data").GetString()!;
    }

    [Fact]
    public async Task The_dashboard_signs_in_with_a_key_in_an_http_only_cookie_and_refuses_cross_site_changes()
    {
        await System.StartSchedulerAsync();
        var api = await System.StartApiAsync(("Auth:AllowAnonymous", "false"),
            ("Auth:Keys:0:Name", "ops"), ("Auth:Keys:0:Key", "ops-key-0123456789"), ("Auth:Keys:0:Scopes:0", "admin"),
            ("Auth:Keys:1:Name", "viewer"), ("Auth:Keys:1:Key", "viewer-key-0123456789"), ("Auth:Keys:1:Scopes:0", "read"));
        var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = api.Http.BaseAddress };

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/me")).StatusCode);
        var page = await browser.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("text/javascript", (await browser.GetAsync("/dashboard/app.js")).Content.Headers.ContentType?.MediaType);

        var wrong = await browser.PostAsync("/dashboard/signin", new FormUrlEncodedContent([new("key", "not-a-key")]));
        Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
        Assert.Equal("/dashboard?signin=failed", wrong.Headers.Location?.ToString());
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        var signedIn = await browser.PostAsync("/dashboard/signin", new FormUrlEncodedContent([new("key", "ops-key-0123456789")]));
        Assert.Equal("/dashboard", signedIn.Headers.Location?.ToString());
        var cookie = signedIn.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var me = await GetAsync(browser, "/me");
        Assert.Equal("ops", me.GetProperty("name").GetString());
        Assert.Contains("manage", me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        // A change signed in by the cookie alone, as a cross-site form would send it: refused, and nothing changed.
        var missing = Guid.NewGuid();
        var forged = await browser.PostAsync($"/tasks/{missing}/cancel", null);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal("X-TaskHub-Csrf", (await forged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        using var withHeader = new HttpRequestMessage(HttpMethod.Post, $"/tasks/{missing}/cancel") { Headers = { { "X-TaskHub-Csrf", "1" } } };
        Assert.Equal(HttpStatusCode.NotFound, (await browser.SendAsync(withHeader)).StatusCode);

        using var signOut = new HttpRequestMessage(HttpMethod.Post, "/dashboard/signout") { Headers = { { "X-TaskHub-Csrf", "1" } } };
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(signOut)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/me")).StatusCode);

        await browser.PostAsync("/dashboard/signin", new FormUrlEncodedContent([new("key", "viewer-key-0123456789")]));
        Assert.Equal(["read"], (await GetAsync(browser, "/me")).GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        using var viewerCancel = new HttpRequestMessage(HttpMethod.Post, $"/tasks/{missing}/cancel") { Headers = { { "X-TaskHub-Csrf", "1" } } };
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(viewerCancel)).StatusCode);
    }

    [Fact]
    public async Task A_monitor_key_reads_everyones_work_and_changes_none_a_read_key_only_its_own()
    {
        await System.StartSchedulerAsync();
        var api = await System.StartApiAsync(("Auth:AllowAnonymous", "false"),
            ("Auth:Keys:0:Name", "alice"), ("Auth:Keys:0:Key", "alice-key-0123456789"), ("Auth:Keys:0:Scopes:0", "submit"), ("Auth:Keys:0:Scopes:1", "read"),
            ("Auth:Keys:1:Name", "ops"), ("Auth:Keys:1:Key", "ops-key-0123456789"), ("Auth:Keys:1:Scopes:0", "monitor"),
            ("Auth:Keys:2:Name", "bob"), ("Auth:Keys:2:Key", "bob-key-0123456789"), ("Auth:Keys:2:Scopes:0", "read"));
        HttpClient As(string key) => new() { BaseAddress = api.Http.BaseAddress, DefaultRequestHeaders = { { "X-Api-Key", key } } };
        using var alice = As("alice-key-0123456789");
        using var ops = As("ops-key-0123456789");
        using var bob = As("bob-key-0123456789");
        await using var callee = await Callee.StartAsync();
        var created = await alice.PostAsJsonAsync($"/task/new?callee={Uri.EscapeDataString(callee.Url("/work"))}&group=alices&parallels=1", new { });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetString();
        await TestSystem.EventuallyAsync(() => GetAsync(ops, "/tasks"), page => page.GetProperty("items").GetArrayLength() == 1, what: "the task in the monitor's list");

        Assert.Equal(id, (await GetAsync(ops, $"/tasks/{id}")).GetProperty("id").GetString());
        Assert.Contains("read", (await GetAsync(ops, "/me")).GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await ops.PostAsync($"/tasks/{id}/cancel", null)).StatusCode);
        await TestSystem.EventuallyAsync(() => GetAsync(ops, "/groups"), g => g.GetArrayLength() == 1, what: "alice's group for the monitor");

        // Bob reads only his own: not alice's task, nor her group.
        Assert.Equal(0, (await GetAsync(bob, "/tasks")).GetProperty("items").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/tasks/{id}")).StatusCode);
        Assert.Equal(0, (await GetAsync(bob, "/groups")).GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync("/groups/alices")).StatusCode);
        Assert.Equal(1, (await GetAsync(alice, "/groups")).GetArrayLength());
    }
}
