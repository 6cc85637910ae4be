using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TaskHub.Api.Auth;
using TaskHub.Tests.Definitions;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Auth;

/// <summary>
/// Issue 15 on the real stack, with keys required: every route takes a key with its scope (walked from the
/// OpenAPI document, so a new route cannot be forgotten), a key sees and manages only what it created, a
/// key limited to some queues is held to them, confirm URLs are capabilities, and the rate limit answers 429.
/// </summary>
public sealed class AccessTests : DefinitionTest
{
    /// <summary>Keys by name: each scope missing from one of them, two owners, an admin, a queue-limited consumer.</summary>
    static readonly Dictionary<string, string[]> KeyScopes = new()
    {
        ["alice"] = ["submit", "read", "manage"],
        ["bob"] = ["submit", "read", "manage"],
        ["admin"] = ["admin"],
        ["no-submit"] = ["read", "manage"],
        ["no-read"] = ["submit", "manage"],
        ["no-manage"] = ["submit", "read"],
        ["gpu"] = ["submit", "read", "manage"],
    };

    static string KeyOf(string name) => $"key-of-{name}-0123456789";

    static (string, string?)[] KeySettings(params (string, string?)[] more)
    {
        var settings = new List<(string, string?)> { ("Auth:AllowAnonymous", "false") };
        var i = 0;
        foreach (var (name, scopes) in KeyScopes)
        {
            settings.Add(($"Auth:Keys:{i}:Name", name));
            // One as a hash, as production has it; the rest in plain text, as development allows.
            settings.Add(name == "admin"
                ? ($"Auth:Keys:{i}:Hash", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KeyOf(name)))))
                : ($"Auth:Keys:{i}:Key", KeyOf(name)));
            for (var s = 0; s < scopes.Length; s++)
                settings.Add(($"Auth:Keys:{i}:Scopes:{s}", scopes[s]));
            if (name == "gpu")
                settings.Add(($"Auth:Keys:{i}:Queues:0", "gpu-*"));
            i++;
        }
        return [.. settings, .. more];
    }

    HttpClient As(string? name)
    {
        var client = new HttpClient { BaseAddress = Api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (name is not null)
            client.DefaultRequestHeaders.Authorization = new("Bearer", name == "wrong" ? "not-a-key-of-anyone" : KeyOf(name));
        return client;
    }

    static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Every_route_needs_a_valid_key_with_its_scope_except_the_capability_routes()
    {
        await StartAsync(null, KeySettings());
        var document = await Api.Http.GetFromJsonAsync<JsonElement>("/docs/v1.json");
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("ApiKey", out _));
        var open = new List<string>();
        var checkedRoutes = 0;

        foreach (var path in document.GetProperty("paths").EnumerateObject())
            foreach (var operation in path.Value.EnumerateObject())
            {
                var method = new HttpMethod(operation.Name.ToUpperInvariant());
                var url = path.Name.Replace("{id}", Guid.NewGuid().ToString()).Replace("{name}", "open");
                var content = method == HttpMethod.Get || method == HttpMethod.Delete ? null : "{}";
                async Task<HttpResponseMessage> SendAs(string? key) =>
                    await As(key).SendAsync(new HttpRequestMessage(method, url) { Content = content is null ? null : Body(content) });
                var what = $"{method} {path.Name}";
                if (!operation.Value.TryGetProperty("security", out var security))
                {
                    open.Add(what);
                    Assert.NotEqual(HttpStatusCode.Unauthorized, (await SendAs(null)).StatusCode);
                    continue;
                }
                var scope = security[0].EnumerateObject().First().Value[0].GetString()!;
                await AssertProblemAsync(await SendAs(null), HttpStatusCode.Unauthorized, what);
                await AssertProblemAsync(await SendAs("wrong"), HttpStatusCode.Unauthorized, what);
                await AssertProblemAsync(await SendAs($"no-{scope}"), HttpStatusCode.Forbidden, what);
                Assert.True((int)(await SendAs("admin")).StatusCode is not (401 or 403), $"{what} refused an admin key");
                checkedRoutes++;
            }

        // Only the routes whose token is the capability take no key.
        Assert.Equal(["POST /task/end/{id}", "POST /v1/task/status"], open.Order());
        Assert.True(checkedRoutes >= 20, $"only {checkedRoutes} routes declare a scope");
    }

    static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{what} answered {(int)response.StatusCode}, not {(int)status}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("errors").TryGetProperty("Authorization", out _), text);
    }

    [Fact]
    public async Task A_key_sees_and_manages_only_its_own_and_an_admin_sees_all()
    {
        Define("mail", new { process = "NoSuchHandler" });
        await StartAsync(null, KeySettings());
        var alice = As("alice");
        var bob = As("bob");
        var admin = As("admin");
        var callee = Uri.EscapeDataString(Peer.Url("/work"));
        var callbackUrl = Peer.Url("/cron");

        var task = await DataAsync(await alice.PostAsync($"/task/new?callee={callee}", Body("{}")));
        var callback = await DataAsync(await alice.PostAsync($"/callback/new?callback={Uri.EscapeDataString(Peer.Url("/cb"))}&setTimeout=600000", Body("{}")));
        var cron = await alice.PostAsync("/v1/task", Body($$$"""
            {"name": "every second", "cronJob": {"second": "*", "minute": "*", "hour": "*", "dom": "*", "month": "*", "dow": "*"},
             "callback": {"url": "{{{callbackUrl}}}"}}
            """));
        Assert.Equal(HttpStatusCode.Created, cron.StatusCode);
        var schedule = (await cron.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var added = await alice.PostAsync("/tasks/mail", Body("""{"id": "order-1"}"""));
        Assert.Equal(HttpStatusCode.Accepted, added.StatusCode);
        var mail = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/tasks/mail/order-1")).StatusCode);
        await TestSystem.EventuallyAsync(async () => (await alice.GetAsync($"/tasks/{task}")).StatusCode, s => s == HttpStatusCode.OK, null, "alice's task");

        string[] reads = [$"/tasks/{task}", $"/callback/{callback}", $"/v1/task/{schedule}", $"/tasks/mail/{mail}"];
        foreach (var url in reads)
        {
            Assert.True((await bob.GetAsync(url)).StatusCode == HttpStatusCode.NotFound, $"bob read {url}");
            Assert.True((await alice.GetAsync(url)).StatusCode == HttpStatusCode.OK, $"alice could not read {url}");
            Assert.True((await admin.GetAsync(url)).StatusCode == HttpStatusCode.OK, $"admin could not read {url}");
        }
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/callback/{callback}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/v1/task/{schedule}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PutAsync($"/v1/task/{schedule}", Body("""
            {"name": "taken over", "cronJob": {"second": "0", "minute": "*", "hour": "*", "dom": "*", "month": "*", "dow": "*"},
             "callback": {"url": "https://elsewhere.invalid/x"}}
            """))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"/tasks/{task}/progress", Body("""{"current": 1, "total": 2}"""))).StatusCode);
        // Nothing of alice's changed: her interval is active, her schedule still hers and calling her URL.
        Assert.Equal("active", (await alice.GetFromJsonAsync<JsonElement>($"/callback/{callback}")).GetProperty("state").GetString());
        var kept = await alice.GetFromJsonAsync<JsonElement>($"/v1/task/{schedule}");
        Assert.Equal("every second", kept.GetProperty("name").GetString());

        // Bob's "order-1" is a task of his own, not a way to alice's.
        Assert.Equal(HttpStatusCode.Accepted, (await bob.PostAsync("/tasks/mail", Body("""{"id": "order-1"}"""))).StatusCode);

        var fired = await TestSystem.EventuallyAsync(() => alice.GetFromJsonAsync<JsonElement>("/v1/task/history"),
            h => h.GetProperty("total").GetInt64() > 0, TimeSpan.FromSeconds(20), "a fire of alice's schedule");
        Assert.Equal(0, (await bob.GetFromJsonAsync<JsonElement>("/v1/task/history")).GetProperty("total").GetInt64());
        Assert.True((await admin.GetFromJsonAsync<JsonElement>("/v1/task/history")).GetProperty("total").GetInt64() >= fired.GetProperty("total").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/v1/task/{schedule}")).StatusCode);
    }

    [Fact]
    public async Task A_debounce_key_is_its_owners()
    {
        await StartAsync(null, KeySettings());
        var url = $"/callback/new?callback={Uri.EscapeDataString(Peer.Url("/cb"))}&key=k1&window=600000";

        var alices = await DataAsync(await As("alice").PostAsync(url, Body("""{"v": "alice"}""")));
        var bobs = await DataAsync(await As("bob").PostAsync(url, Body("""{"v": "bob"}""")));

        Assert.NotEqual(alices, bobs);
        Assert.Equal(alices, await DataAsync(await As("alice").PostAsync(url, Body("""{"v": "alice again"}"""))));
    }

    [Fact]
    public async Task A_key_limited_to_some_queues_uses_and_lists_only_those()
    {
        await StartAsync(null, KeySettings());
        Assert.Equal(HttpStatusCode.OK, (await As("alice").PostAsync("/task/put", Body("""{"queue": "cpu-1", "id": "t"}"""))).StatusCode);
        var gpu = As("gpu");

        var refused = await gpu.PostAsync("/task/put", Body("""{"queue": "cpu-1", "id": "t2"}"""));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.True((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("queue", out _));
        Assert.Equal(HttpStatusCode.Forbidden, (await gpu.PostAsync("/task/put",
            Body("""{"queue": "gpu-1", "id": "t3", "config": {"forward_result_to": "cpu-results"}}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gpu.PostAsync("/task/put", Body("""{"queue": "gpu-1", "id": "t"}"""))).StatusCode);

        var listed = await (await gpu.PostAsync("/task/list_queue", Body("{}"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["gpu-1"], listed.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        var all = await (await As("admin").PostAsync("/task/list_queue", Body("{}"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["cpu-1", "gpu-1"], all.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, await System.CountAsync("SELECT count(*) FROM queue_items WHERE queue = 'cpu-1'"));
    }

    [Fact]
    public async Task Only_the_confirm_url_a_callee_was_given_confirms_its_task()
    {
        await StartAsync(_ => { }, KeySettings());
        var alice = As("alice");
        var callee = Uri.EscapeDataString(Peer.Url("/work"));
        var first = await DataAsync(await alice.PostAsync($"/task/new?callee={callee}", Body("{}")));
        var second = await DataAsync(await alice.PostAsync($"/task/new?callee={callee}", Body("{}")));
        var calls = await Peer.WaitForAsync("/work", 2);
        var confirmOf = calls.ToDictionary(c => c.Query["id"].ToString(), c => new Uri(c.Query["callback"].ToString()));
        var anonymous = As(null);
        var firstToken = global::System.Web.HttpUtility.ParseQueryString(confirmOf[first].Query)["token"]!;

        // No key, and: no token, a forged one, an altered one, the other task's.
        foreach (var forged in new[] { $"/task/end/{first}", $"/task/end/{first}?token=forged", $"/task/end/{first}?token={firstToken[..^1]}x",
                     $"/task/end/{second}?token={firstToken}" })
            Assert.True((await anonymous.PostAsync(forged, Body("""{"ok": true, "data": "forged"}"""))).StatusCode == HttpStatusCode.NotFound, forged);
        Assert.Equal("RUNNING", (await alice.GetFromJsonAsync<JsonElement>($"/tasks/{first}")).GetProperty("status").GetString());
        Assert.Equal("RUNNING", (await alice.GetFromJsonAsync<JsonElement>($"/tasks/{second}")).GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync(confirmOf[first], Body("""{"ok": true, "data": "real"}"""))).StatusCode);
        var done = await TestSystem.EventuallyAsync(() => alice.GetFromJsonAsync<JsonElement>($"/tasks/{first}"),
            t => t.GetProperty("status").GetString() == "SUCCESS", null, "the confirmed task");
        Assert.Equal("real", done.GetProperty("response").GetProperty("data").GetString());
    }

    [Fact]
    public async Task A_key_over_its_rate_is_answered_429_with_retry_after()
    {
        await StartAsync(null, KeySettings(("Auth:RateLimit:PerSecond", "1"), ("Auth:RateLimit:Burst", "3")));
        var alice = As("alice");

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
            answers.Add(await alice.GetAsync($"/tasks/{Guid.NewGuid()}"));

        Assert.True(answers.Take(3).All(a => a.StatusCode == HttpStatusCode.NotFound));
        var limited = answers.Last();
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter is not null);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        // Another key has its own budget.
        Assert.Equal(HttpStatusCode.NotFound, (await As("bob").GetAsync($"/tasks/{Guid.NewGuid()}")).StatusCode);
    }

    [Fact]
    public async Task Outside_development_the_api_refuses_to_start_without_keys_or_with_a_plain_one()
    {
        (string, string?)[] production = [("Api:PublicBaseUrl", "https://taskhub.example.com"), ("Auth:AllowAnonymous", "false")];

        var none = await Assert.ThrowsAnyAsync<Exception>(() => System.StartApiAsync("Production", production));
        Assert.Contains("Auth:Keys must hold at least one key", none.ToString());
        var plain = await Assert.ThrowsAnyAsync<Exception>(() => System.StartApiAsync("Production",
            [.. production, ("Auth:Keys:0:Name", "ops"), ("Auth:Keys:0:Key", "a-plain-key-0123456789"), ("Auth:Keys:0:Scopes:0", "admin")]));
        Assert.Contains("Auth:Keys:0:Key", plain.ToString());
    }

    [Fact]
    public async Task A_minted_key_is_configured_by_its_hash_and_works()
    {
        var output = new StringWriter();
        Assert.True(KeysCommand.TryRun(["keys", "new", "ops", "read"], output));
        var lines = output.ToString().Split('\n');
        var key = lines.Single(l => l.StartsWith("key:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var hash = lines.Single(l => l.StartsWith("hash:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), hash);
        Assert.Contains("Auth__Keys__n__Hash=" + hash, output.ToString());

        var api = await System.StartApiAsync("Production", ("Api:PublicBaseUrl", "https://taskhub.example.com"), ("Auth:AllowAnonymous", "false"),
            ("Auth:Keys:0:Name", "ops"), ("Auth:Keys:0:Hash", hash), ("Auth:Keys:0:Scopes:0", "read"));
        var client = new HttpClient { BaseAddress = api.Http.BaseAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/tasks/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Http.GetAsync($"/tasks/{Guid.NewGuid()}")).StatusCode);
    }

    static async Task<string> DataAsync(HttpResponseMessage response)
    {
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {reply}");
        return reply.GetProperty("data").GetString()!;
    }
}
