using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Npgsql;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Cron;

/// <summary>
/// Scheduled offline tasks (seed 003) end to end: <c>/v1/task</c> on the Api, Quartz clustered in
/// the Scheduler on the test's own database, callbacks to a Kestrel callee on loopback.
/// </summary>
public sealed class CronTaskTests : SystemTest
{
    static readonly (string, string?)[] SchedulerSettings = [.. TimerClusterTests.QuartzSettings, ("Cron:RetryDelayMs", "100")];
    static readonly object EverySecond = new { second = "*", minute = "*", hour = "*", dom = "*", month = "*", dow = "*" };

    Callee _callee = null!;
    HttpClient _api = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _callee = await Callee.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _callee.DisposeAsync();
    }

    Task<IHost> StartSchedulerAsync(params (string, string?)[] settings) => System.StartSchedulerAsync([.. SchedulerSettings, .. settings]);

    async Task StartApiAsync() => _api = (await System.StartApiAsync()).Http;

    object Body(string path, int count = 0, bool multipleEntry = true, long startAt = 0, long stopAt = 0, string method = "POST",
        string? parameters = """{"n":1}""", object? cronJob = null) => new
    {
        name = "job",
        count,
        cronJob = cronJob ?? EverySecond,
        startAt,
        stopAt,
        isMultipleEntry = multipleEntry,
        callback = new { url = _callee.Url(path), method, @params = parameters },
    };

    async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string uri, object? body = null)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await _api.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    async Task<string> CreateAsync(object body)
    {
        var (status, view) = await SendAsync(HttpMethod.Post, "/v1/task", body);
        Assert.True(status == HttpStatusCode.Created, $"{status}: {view}");
        return view.GetProperty("id").GetString()!;
    }

    async Task<JsonElement> GetTaskAsync(string id)
    {
        var (status, view) = await SendAsync(HttpMethod.Get, $"/v1/task/{id}");
        Assert.True(status == HttpStatusCode.OK, $"{status}: {view}");
        return view;
    }

    async Task<JsonElement> HistoryAsync(string query)
    {
        var (status, page) = await SendAsync(HttpMethod.Get, $"/v1/task/history?{query}");
        Assert.True(status == HttpStatusCode.OK, $"{status}: {page}");
        return page;
    }

    async Task<List<JsonElement>> FiresAsync(string id) =>
        (await HistoryAsync($"taskId={id}&pageSize=500")).GetProperty("items").EnumerateArray().ToList();

    async Task ReportAsync(string token, string status)
    {
        var (code, body) = await SendAsync(HttpMethod.Post, "/v1/task/status", new { taskToken = token, taskResult = new { status } });
        Assert.True(code == HttpStatusCode.OK, $"{code}: {body}");
    }

    Task WaitForRequestsAsync(string path, int count, int seconds = 15) =>
        TestSystem.EventuallyAsync(() => Task.FromResult(_callee.On(path).Count), n => n >= count,
            TimeSpan.FromSeconds(seconds), $"{count} requests on {path}");

    static long Unix(DateTimeOffset at) => at.ToUnixTimeSeconds();

    static void AssertProblem(HttpStatusCode expected, HttpStatusCode status, JsonElement problem, string field)
    {
        Assert.True(status == expected, $"expected {expected} naming {field}, got {status}: {problem}");
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Count_bounds_the_fires_and_history_pages_them_newest_first()
    {
        await StartSchedulerAsync();
        await StartApiAsync();

        using var response = await _api.PostAsJsonAsync("/v1/task", Body("/count", count: 3));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal($"/v1/task/{id}", response.Headers.Location?.ToString());
        Assert.Equal("cron", created.GetProperty("kind").GetString());
        Assert.Equal("* * * * * ?", created.GetProperty("cronExpression").GetString());
        Assert.Equal("ACTIVE", created.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Number, created.GetProperty("nextFireTime").ValueKind);

        await WaitForRequestsAsync("/count", 3);
        await Task.Delay(1500);

        var requests = _callee.On("/count");
        Assert.Equal(3, requests.Count);
        Assert.All(requests, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal("""{"n":1}""", r.Body);
            Assert.Equal("application/json", r.ContentType);
            Assert.StartsWith("Bearer ", r.Headers["Authorization"]);
        });
        Assert.Equal(3, requests.Select(r => r.Token).Distinct().Count());
        var task = await GetTaskAsync(id);
        Assert.Equal(3, task.GetProperty("fireCount").GetInt32());
        Assert.Equal("COMPLETED", task.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("nextFireTime").ValueKind);

        var page1 = await HistoryAsync($"taskId={id}&pageNum=1&pageSize=2");
        var page2 = await HistoryAsync($"taskId={id}&pageNum=2&pageSize=2");
        var page3 = await HistoryAsync($"taskId={id}&pageNum=3&pageSize=2");
        Assert.Equal([3L, 3L, 3L], new[] { page1, page2, page3 }.Select(p => p.GetProperty("total").GetInt64()));
        Assert.Equal([2, 1, 0], new[] { page1, page2, page3 }.Select(p => p.GetProperty("items").GetArrayLength()));
        Assert.Equal(2, page2.GetProperty("pageNum").GetInt32());
        Assert.Equal(2, page2.GetProperty("pageSize").GetInt32());
        var fires = page1.GetProperty("items").EnumerateArray().Concat(page2.GetProperty("items").EnumerateArray()).ToList();
        var firedAt = fires.Select(f => f.GetProperty("firedAt").GetInt64()).ToList();
        Assert.Equal(firedAt.OrderDescending(), firedAt);
        Assert.Equal(requests.Select(r => r.Token).Order(), fires.Select(f => f.GetProperty("token").GetString()!).Order());
        Assert.All(fires, f =>
        {
            Assert.Equal("RUNNING", f.GetProperty("status").GetString());
            Assert.Equal(200, f.GetProperty("httpStatus").GetInt32());
            Assert.Equal(JsonValueKind.Null, f.GetProperty("error").ValueKind);
            Assert.Equal(id, f.GetProperty("taskId").GetString());
            var attempt = Assert.Single(f.GetProperty("attempts").EnumerateArray());
            Assert.Equal(200, attempt.GetProperty("httpStatus").GetInt32());
        });

        var (newest, oldest) = (firedAt[0], firedAt[^1]);
        Assert.Equal(firedAt.Count(t => t >= newest), (await HistoryAsync($"taskId={id}&beginAt={newest}")).GetProperty("total").GetInt64());
        Assert.Equal(firedAt.Count(t => t <= oldest), (await HistoryAsync($"taskId={id}&endAt={oldest}")).GetProperty("total").GetInt64());
        Assert.Equal(0, (await HistoryAsync($"taskId={id}&beginAt={newest + 10}")).GetProperty("total").GetInt64());
        Assert.Equal(3, (await HistoryAsync("beginAt=0&endAt=0")).GetProperty("total").GetInt64());
        Assert.Equal(0, (await HistoryAsync($"taskId={Guid.NewGuid()}")).GetProperty("total").GetInt64());
        var (status, problem) = await SendAsync(HttpMethod.Get, "/v1/task/history?pageSize=0");
        AssertProblem(HttpStatusCode.BadRequest, status, problem, "pageSize");
        (status, problem) = await SendAsync(HttpMethod.Get, "/v1/task/history?taskId=abc");
        AssertProblem(HttpStatusCode.BadRequest, status, problem, "taskId");
    }

    [Fact]
    public async Task A_quick_task_calls_once_with_a_verifiable_jwt_and_takes_the_receivers_status_report()
    {
        await StartSchedulerAsync();
        await StartApiAsync();
        var time = Unix(DateTimeOffset.UtcNow) - 60;

        var (status, created) = await SendAsync(HttpMethod.Post, "/v1/task/quick", new
        {
            name = "nightly-report",
            time = time.ToString(), // the seed sends a string; a past time fires now
            callback = new { url = _callee.Url("/quick"), method = "put", @params = """{"x":1}""" },
        });
        Assert.True(status == HttpStatusCode.Created, $"{status}: {created}");
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal("quick", created.GetProperty("kind").GetString());
        Assert.Equal(time, created.GetProperty("time").GetInt64());
        Assert.Equal("PUT", created.GetProperty("callback").GetProperty("method").GetString());

        await WaitForRequestsAsync("/quick", 1);
        await Task.Delay(1000);
        var request = Assert.Single(_callee.Requests);
        Assert.Equal("PUT", request.Method);
        Assert.Equal("""{"x":1}""", request.Body);
        Assert.Equal(id, request.Headers["X-TaskHub-Task-Id"]);
        Assert.StartsWith("sha256=", request.Headers["X-TaskHub-Signature"]);

        // What the seed's express middleware does with jwt.verify(token, secret), step by step.
        var jwt = request.Headers["Authorization"]["Bearer ".Length..].Split('.');
        Assert.Equal(3, jwt.Length);
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(TestSystem.SigningKey), Encoding.ASCII.GetBytes($"{jwt[0]}.{jwt[1]}"));
        Assert.Equal(Base64Url(signature), jwt[2]);
        var header = JsonDocument.Parse(FromBase64Url(jwt[0])).RootElement;
        Assert.Equal("HS256", header.GetProperty("alg").GetString());
        var claims = JsonDocument.Parse(FromBase64Url(jwt[1])).RootElement;
        Assert.Equal(id, claims.GetProperty("taskId").GetString());
        Assert.Equal(request.Token, claims.GetProperty("token").GetString());
        Assert.Equal("nightly-report", claims.GetProperty("name").GetString());
        var now = Unix(DateTimeOffset.UtcNow);
        Assert.InRange(claims.GetProperty("iat").GetInt64(), now - 30, now);
        Assert.True(claims.GetProperty("exp").GetInt64() > now);

        var fire = Assert.Single(await FiresAsync(id));
        Assert.Equal("RUNNING", fire.GetProperty("status").GetString());
        Assert.Equal(request.Token, fire.GetProperty("token").GetString());

        await ReportAsync(request.Token, "SUCCESS");
        fire = Assert.Single(await FiresAsync(id));
        Assert.Equal("SUCCESS", fire.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Number, fire.GetProperty("reportedAt").ValueKind);

        JsonElement problem;
        (status, problem) = await SendAsync(HttpMethod.Post, "/v1/task/status", new { taskToken = Guid.NewGuid().ToString(), taskResult = new { status = "SUCCESS" } });
        AssertProblem(HttpStatusCode.NotFound, status, problem, "taskToken");
        (status, problem) = await SendAsync(HttpMethod.Post, "/v1/task/status", new { taskToken = "no-such-token", taskResult = new { status = "FAILED" } });
        AssertProblem(HttpStatusCode.NotFound, status, problem, "taskToken");
        (status, problem) = await SendAsync(HttpMethod.Post, "/v1/task/status", new { taskToken = request.Token, taskResult = new { status = "DONE" } });
        AssertProblem(HttpStatusCode.BadRequest, status, problem, "taskResult.status");
        (status, problem) = await SendAsync(HttpMethod.Post, "/v1/task/status", new { taskToken = request.Token });
        AssertProblem(HttpStatusCode.BadRequest, status, problem, "taskResult");

        var task = await GetTaskAsync(id);
        Assert.Equal(1, task.GetProperty("fireCount").GetInt32());
        Assert.Equal("COMPLETED", task.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("nextFireTime").ValueKind);
    }

    [Fact]
    public async Task StartAt_and_stopAt_bound_the_fire_times_both_inclusive()
    {
        await StartSchedulerAsync();
        await StartApiAsync();
        // Far enough ahead that the first request to a cold Scheduler has armed the trigger before startAt.
        var startAt = Unix(DateTimeOffset.UtcNow) + 4;
        var stopAt = startAt + 2;

        var (status, created) = await SendAsync(HttpMethod.Post, "/v1/task", Body("/window", startAt: startAt, stopAt: stopAt));
        Assert.True(status == HttpStatusCode.Created, $"{status}: {created}");
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(startAt, created.GetProperty("nextFireTime").GetInt64());

        await WaitForRequestsAsync("/window", 3);
        await Task.Delay(1500);

        Assert.Equal(3, _callee.On("/window").Count);
        var ticks = (await FiresAsync(id)).Select(f => f.GetProperty("scheduledAt").GetInt64()).Order();
        Assert.Equal([startAt, startAt + 1, stopAt], ticks);
        var task = await GetTaskAsync(id);
        Assert.Equal("COMPLETED", task.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, task.GetProperty("nextFireTime").ValueKind);
    }

    [Fact]
    public async Task Without_multiple_entry_a_fire_waits_for_the_receivers_report_or_the_entry_timeout()
    {
        await StartSchedulerAsync(("Cron:EntryTimeoutSeconds", "3"));
        await StartApiAsync();
        var id = await CreateAsync(Body("/single", multipleEntry: false));

        // Nobody reports: the ticks after a delivery are skipped until it is older than the entry timeout.
        await WaitForRequestsAsync("/single", 2);
        var (first, second) = (_callee.Requests[0], _callee.Requests[1]);
        var fires = (await FiresAsync(id)).OrderBy(f => f.GetProperty("scheduledAt").GetInt64()).ToList();
        var firstAt = fires.FindIndex(f => f.GetProperty("token").GetString() == first.Token);
        var secondAt = fires.FindIndex(f => f.GetProperty("token").GetString() == second.Token);
        var skipped = fires[(firstAt + 1)..secondAt];
        Assert.True(skipped.Count >= 2, $"{skipped.Count} fires between the first two deliveries");
        Assert.All(skipped, f =>
        {
            Assert.Equal("SKIPPED", f.GetProperty("status").GetString());
            Assert.Equal(JsonValueKind.Null, f.GetProperty("httpStatus").ValueKind);
            Assert.Empty(f.GetProperty("attempts").EnumerateArray());
        });
        Assert.Equal("RUNNING", fires[firstAt].GetProperty("status").GetString());

        // Reported: from here the receiver reports before it answers, and the next tick goes out again.
        _callee.Respond = async r =>
        {
            await ReportAsync(r.Token, "SUCCESS");
            return 200;
        };
        await ReportAsync(second.Token, "FAILED");
        await WaitForRequestsAsync("/single", 5);

        var delivered = _callee.Requests.Skip(2).Take(3).Select(r => r.Token).ToList();
        fires = await FiresAsync(id);
        var ticks = fires.Where(f => delivered.Contains(f.GetProperty("token").GetString()!))
            .Select(f => f.GetProperty("scheduledAt").GetInt64()).Order().ToList();
        Assert.Equal(3, ticks.Count);
        Assert.Equal([ticks[0], ticks[0] + 1, ticks[0] + 2], ticks);
        Assert.Equal("FAILED", fires.Single(f => f.GetProperty("token").GetString() == second.Token).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_sweep_deletes_fires_older_than_the_history_keeps()
    {
        await StartSchedulerAsync();
        await StartApiAsync();
        var id = await CreateAsync(Body("/aged", count: 3));
        await WaitForRequestsAsync("/aged", 3);
        var tokens = _callee.On("/aged").Select(r => r.Token).ToList();

        // Cron:HistoryDays is 30 by default: a fire made 31 days old goes, one made 29 days old stays.
        const string age = "UPDATE cron_task_fires SET fired_at = fired_at - $2::interval WHERE token = $1";
        Assert.Equal(1, await System.ExecuteAsync(age, Guid.Parse(tokens[0]), "31 days"));
        Assert.Equal(1, await System.ExecuteAsync(age, Guid.Parse(tokens[1]), "29 days"));

        var fires = await TestSystem.EventuallyAsync(() => FiresAsync(id), f => f.Count == 2, TimeSpan.FromSeconds(10), "the 31-day-old fire to be deleted");
        Assert.Equal(tokens[1..].Order(), fires.Select(f => f.GetProperty("token").GetString()!).Order());
    }

    [Fact]
    public async Task Put_replaces_the_definition_and_the_next_fire_uses_it()
    {
        await StartSchedulerAsync();
        await StartApiAsync();
        var id = await CreateAsync(Body("/before", parameters: """{"v":1}"""));
        await WaitForRequestsAsync("/before", 1);

        var (status, replaced) = await SendAsync(HttpMethod.Put, $"/v1/task/{id}", Body("/after", count: 2, method: "PATCH", parameters: """{"v":2}"""));
        var replacedAt = DateTimeOffset.UtcNow;
        Assert.True(status == HttpStatusCode.OK, $"{status}: {replaced}");
        Assert.Equal(id, replaced.GetProperty("id").GetString());
        Assert.Equal(0, replaced.GetProperty("fireCount").GetInt32());
        Assert.Equal(2, replaced.GetProperty("count").GetInt32());
        Assert.Equal(_callee.Url("/after"), replaced.GetProperty("callback").GetProperty("url").GetString());

        await WaitForRequestsAsync("/after", 2);
        await Task.Delay(1500);

        var after = _callee.On("/after");
        Assert.Equal(2, after.Count);
        Assert.All(after, r =>
        {
            Assert.Equal("PATCH", r.Method);
            Assert.Equal("""{"v":2}""", r.Body);
        });
        Assert.DoesNotContain(_callee.On("/before"), r => r.At > replacedAt.AddSeconds(1));
        var task = await GetTaskAsync(id);
        Assert.Equal(2, task.GetProperty("fireCount").GetInt32());
        Assert.Equal("COMPLETED", task.GetProperty("state").GetString());
        Assert.Equal(_callee.Requests.Count, (await FiresAsync(id)).Count); // the history spans both definitions

        JsonElement problem;
        (status, problem) = await SendAsync(HttpMethod.Put, $"/v1/task/{Guid.NewGuid()}", Body("/after"));
        AssertProblem(HttpStatusCode.NotFound, status, problem, "id");
        (status, problem) = await SendAsync(HttpMethod.Put, $"/v1/task/{id}",
            Body("/after", cronJob: new { second = "61", minute = "*", hour = "*", dom = "*", month = "*", dow = "*" }));
        AssertProblem(HttpStatusCode.BadRequest, status, problem, "cronJob.second");
    }

    [Fact]
    public async Task Two_schedulers_fire_each_tick_once_and_delete_stops_the_task()
    {
        await StartSchedulerAsync();
        await StartSchedulerAsync();
        await StartApiAsync();
        var id = await CreateAsync(Body("/both"));

        await WaitForRequestsAsync("/both", 4);
        var fires = await FiresAsync(id);
        var ticks = fires.Select(f => f.GetProperty("scheduledAt").GetInt64()).ToList();
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.Equal(2L, await System.CountAsync("SELECT count(*) FROM qrtz_scheduler_state"));

        var (status, _) = await SendAsync(HttpMethod.Delete, $"/v1/task/{id}");
        var deletedAt = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.NoContent, status);
        JsonElement problem;
        (status, problem) = await SendAsync(HttpMethod.Get, $"/v1/task/{id}");
        AssertProblem(HttpStatusCode.NotFound, status, problem, "id");
        (status, problem) = await SendAsync(HttpMethod.Delete, $"/v1/task/{id}");
        AssertProblem(HttpStatusCode.NotFound, status, problem, "id");
        await Task.Delay(2000);

        var requests = _callee.On("/both");
        Assert.DoesNotContain(requests, r => r.At > deletedAt.AddSeconds(1));
        Assert.Equal(requests.Count, requests.Select(r => r.Token).Distinct().Count());
        Assert.Equal(0, (await HistoryAsync($"taskId={id}")).GetProperty("total").GetInt64());
        Assert.Equal(0L, await System.CountAsync("SELECT count(*) FROM qrtz_triggers"));
    }

    [Fact]
    public async Task Triggers_due_while_every_scheduler_was_down_fire_once_after_restart()
    {
        var first = await StartSchedulerAsync();
        await StartApiAsync();
        var cronId = await CreateAsync(Body("/cron"));
        await WaitForRequestsAsync("/cron", 1);
        var quickAt = Unix(DateTimeOffset.UtcNow) + 3;
        var (status, quick) = await SendAsync(HttpMethod.Post, "/v1/task/quick",
            new { name = "once", time = quickAt, callback = new { url = _callee.Url("/quick"), method = "POST" } });
        Assert.True(status == HttpStatusCode.Created, $"{status}: {quick}");

        // Stop mid-second, so "the ticks after the stop" is a clear set of whole seconds.
        while (DateTimeOffset.UtcNow.Millisecond is < 300 or > 600)
            await Task.Delay(20);
        var stoppingAt = DateTimeOffset.UtcNow;
        await System.StopAsync(first);
        // Down past the quick task's time, and for several whole ticks of the cron task.
        var downUntil = new[] { DateTimeOffset.FromUnixTimeSeconds(quickAt + 2), stoppingAt.AddSeconds(4) }.Max();
        await Task.Delay(downUntil - DateTimeOffset.UtcNow);
        Assert.Empty(_callee.On("/quick"));
        var restartedAt = DateTimeOffset.UtcNow;
        await StartSchedulerAsync();

        await WaitForRequestsAsync("/quick", 1);
        await TestSystem.EventuallyAsync(() => Task.FromResult(_callee.On("/cron").Count(r => r.At > restartedAt)),
            n => n >= 3, TimeSpan.FromSeconds(15), "cron fires after the restart");

        Assert.Single(_callee.On("/quick"));
        var fires = await FiresAsync(cronId);
        var missed = fires.Where(f => f.GetProperty("scheduledAt").GetInt64() >= Unix(stoppingAt) + 1
                                      && f.GetProperty("scheduledAt").GetInt64() <= Unix(restartedAt) - 1).ToList();
        // One catch-up fire for all the ticks missed, not one per tick.
        var catchUp = Assert.Single(missed);
        Assert.True(catchUp.GetProperty("firedAt").GetInt64() >= Unix(restartedAt));
        var ticks = fires.Select(f => f.GetProperty("scheduledAt").GetInt64()).ToList();
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
    }

    [Fact]
    public async Task Bad_input_is_a_400_naming_the_field_and_schedules_nothing()
    {
        await StartSchedulerAsync();
        await StartApiAsync();
        var now = Unix(DateTimeOffset.UtcNow);
        object Cron(string second = "0", string dom = "*", string month = "*", string dow = "*") =>
            new { second, minute = "*", hour = "*", dom, month, dow };

        var cases = new (string Uri, object Body, string Field)[]
        {
            ("/v1/task", Body("/x", cronJob: Cron(second: "60")), "cronJob.second"),
            ("/v1/task", Body("/x", cronJob: Cron(dow: "8")), "cronJob.dow"),
            ("/v1/task", Body("/x", cronJob: Cron(dom: "1", dow: "1")), "cronJob.dow"),
            ("/v1/task", Body("/x", cronJob: Cron(month: "13")), "cronJob.month"),
            ("/v1/task", Body("/x", cronJob: Cron(dom: "30", month: "2")), "cronJob"),
            ("/v1/task", Body("/x", cronJob: new { second = "0", minute = "*", hour = "*", dom = "*", month = "*" }), "cronJob.dow"),
            ("/v1/task", new { name = "x", callback = new { url = _callee.Url("/x") } }, "cronJob"),
            ("/v1/task", Body("/x", method: "FETCH"), "callback.method"),
            ("/v1/task", new { name = "x", cronJob = EverySecond, callback = new { url = "ftp://127.0.0.1/x" } }, "callback.url"),
            ("/v1/task", new { name = "x", cronJob = EverySecond, callback = new { url = "not a url" } }, "callback.url"),
            ("/v1/task", new { name = "x", cronJob = EverySecond, callback = new { url = "http://example.com/hook" } }, "callback.url"),
            ("/v1/task", new { name = "x", cronJob = EverySecond }, "callback"),
            ("/v1/task", Body("/x", parameters: "not json"), "callback.params"),
            ("/v1/task", Body("/x", startAt: now + 100, stopAt: now + 50), "stopAt"),
            ("/v1/task", Body("/x", stopAt: now - 100), "stopAt"),
            ("/v1/task", Body("/x", count: -1), "count"),
            ("/v1/task", new { name = "x", count = "many", cronJob = EverySecond, callback = new { url = _callee.Url("/x") } }, "count"),
            ("/v1/task", new { count = 1, cronJob = EverySecond, callback = new { url = _callee.Url("/x") } }, "name"),
            ("/v1/task", new { name = "x", cronJob = EverySecond, isMultipleEntry = "sometimes", callback = new { url = _callee.Url("/x") } }, "isMultipleEntry"),
            ("/v1/task/quick", new { name = "x", callback = new { url = _callee.Url("/x") } }, "time"),
            ("/v1/task/quick", new { name = "x", time = "-5", callback = new { url = _callee.Url("/x") } }, "time"),
            ("/v1/task/quick", new { name = "x", time = now, callback = new { url = _callee.Url("/x"), method = "HEAD" } }, "callback.method"),
        };
        foreach (var (uri, body, field) in cases)
        {
            using var response = await _api.PostAsJsonAsync(uri, body);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            AssertProblem(HttpStatusCode.BadRequest, response.StatusCode, problem, field);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors of {problem} lack {field}");
        }
        using (var notJson = await _api.PostAsync("/v1/task", new StringContent("{name:", Encoding.UTF8, "application/json")))
            AssertProblem(HttpStatusCode.BadRequest, notJson.StatusCode, await notJson.Content.ReadFromJsonAsync<JsonElement>(), "body");

        await Task.Delay(1000);
        Assert.Equal(0L, await System.CountAsync("SELECT count(*) FROM cron_tasks"));
        Assert.Equal(0L, await System.CountAsync("SELECT count(*) FROM qrtz_triggers"));
        Assert.Empty(_callee.Requests);
    }

    [Fact]
    public async Task The_routes_are_in_the_openapi_document()
    {
        await StartApiAsync();
        var document = await _api.GetFromJsonAsync<JsonElement>("/docs/v1.json");
        var paths = document.GetProperty("paths");
        foreach (var (path, methods) in new[]
                 {
                     ("/v1/task", new[] { "post" }),
                     ("/v1/task/quick", ["post"]),
                     ("/v1/task/status", ["post"]),
                     ("/v1/task/history", ["get"]),
                     ("/v1/task/{id}", ["get", "put", "delete"]),
                 })
        {
            Assert.True(paths.TryGetProperty(path, out var operations), $"{path} is not in the OpenAPI document");
            foreach (var method in methods)
                Assert.True(operations.TryGetProperty(method, out _), $"{method} {path} is not in the OpenAPI document");
        }
        Assert.True(paths.GetProperty("/v1/task").GetProperty("post").TryGetProperty("requestBody", out _));
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("CronTaskBody", out _));
    }

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    static string FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Encoding.UTF8.GetString(Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4)));
    }
}
