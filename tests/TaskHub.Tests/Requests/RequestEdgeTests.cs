using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Definitions;

namespace TaskHub.Tests.Requests;

/// <summary>
/// Issue 14's cases one by one: the four requests that were answered 2xx and then lost, the Host header
/// that was trusted, the times at the edge of what a timestamp holds, and the pull-queue inputs seed 004's
/// client sends that must stay accepted. A .NET producer's unstorable task fails visibly.
/// </summary>
public sealed class RequestEdgeTests : DefinitionTest
{
    async Task<HttpResponseMessage> PostJsonAsync(string url, string json) =>
        await Api.Http.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors do not name {field}: {text}");
        return problem;
    }

    [Fact]
    public async Task A_callee_url_with_a_nul_is_refused_and_no_task_is_made()
    {
        await StartAsync(null);

        using var response = await Api.Http.PostAsync($"/task/new?callee={Uri.EscapeDataString(Peer.Url("/work"))}%00x", JsonContent.Create(new { }));

        await ProblemAsync(response, HttpStatusCode.BadRequest, "callee");
        await Task.Delay(500);
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    [Fact]
    public async Task Task_args_with_a_nul_are_refused_naming_the_argument()
    {
        Define("test", new { process = "Anything" });
        await StartAsync(null);

        using var response = await PostJsonAsync("/tasks/test", """{"args": ["ok", "a\u0000b"]}""");

        await ProblemAsync(response, HttpStatusCode.BadRequest, "args[1]");
        await Task.Delay(500);
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    [Fact]
    public async Task A_confirm_or_a_progress_report_with_a_nul_is_refused_and_a_clean_one_still_lands()
    {
        Peer.Map("/work", (_, http) => { http.Response.StatusCode = 200; return Task.CompletedTask; });
        await StartAsync(_ => { });
        var id = (await (await Api.Http.PostAsync($"/task/new?callee={Uri.EscapeDataString(Peer.Url("/work"))}", JsonContent.Create(new { })))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetString();
        var call = (await Peer.WaitForAsync("/work", 1))[0];
        var confirm = call.Query["callback"].ToString();

        await ProblemAsync(await PostJsonAsync($"/tasks/{id}/progress", """{"current": 1, "total": 2, "message": "a\u0000b"}"""),
            HttpStatusCode.BadRequest, "message");
        await ProblemAsync(await PostJsonAsync(confirm, """{"ok": true, "data": "a\u0000b"}"""), HttpStatusCode.BadRequest, "body.data");
        await Task.Delay(500);
        var task = await Api.Http.GetFromJsonAsync<JsonElement>($"/tasks/{id}");
        Assert.Equal(TaskStatuses.Running, task.GetProperty("status").GetString());
        Assert.Equal(0, task.GetProperty("total").GetInt32());

        Assert.Equal(HttpStatusCode.Accepted, (await PostJsonAsync($"/tasks/{id}/progress", """{"current": 1, "total": 2, "message": "half"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostJsonAsync(confirm, """{"ok": true, "data": "done"}""")).StatusCode);
        task = await WaitForStatusAsync(id!, TaskStatuses.Success);
        Assert.Equal("done", task.GetProperty("response").GetProperty("data").GetString());
        Assert.Equal("half", task.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_dotnet_task_the_table_cannot_hold_fails_with_the_reason_instead_of_vanishing()
    {
        await StartAsync(null);
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("echo", "a\u0000b"));

        var task = await WaitForStatusAsync(id.ToString(), TaskStatuses.Failure);
        Assert.Contains("args at $[0]", task.GetProperty("error").GetString());
        Assert.Contains("NUL", task.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_handler_result_the_table_cannot_hold_fails_the_task_saying_why()
    {
        await StartAsync(w => w.Register("Nul", () => "a\u0000b"));
        var client = await System.StartClientAsync();

        var id = await client.SendTaskAsync(TaskSignature.Create("Nul"));

        var task = await WaitForStatusAsync(id.ToString(), TaskStatuses.Failure);
        Assert.StartsWith("result not stored: response", task.GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_confirm_url_handed_to_callees_never_comes_from_the_host_header()
    {
        Peer.Map("/work", (_, http) => { http.Response.StatusCode = 200; return Task.CompletedTask; });
        await StartAsync(_ => { });
        var request = new HttpRequestMessage(HttpMethod.Post, $"/task/new?callee={Uri.EscapeDataString(Peer.Url("/work"))}")
        {
            Content = JsonContent.Create(new { }),
        };
        request.Headers.Host = "hub.attacker.invalid";

        Assert.Equal(HttpStatusCode.OK, (await Api.Http.SendAsync(request)).StatusCode);

        var confirm = new Uri((await Peer.WaitForAsync("/work", 1))[0].Query["callback"].ToString());
        Assert.Equal(Api.Http.BaseAddress!.Authority, confirm.Authority);
    }

    [Fact]
    public async Task Outside_development_the_api_refuses_to_start_without_a_public_base_url()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => System.StartApiAsync(environment: "Production"));
        Assert.Contains("Api:PublicBaseUrl", failure.ToString());

        var api = await System.StartApiAsync(environment: "Production", ("Api:PublicBaseUrl", "https://taskhub.example.com"));
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Times_at_the_edge_of_a_timestamp_are_answered_not_500()
    {
        await StartAsync(null);

        await ProblemAsync(await Api.Http.GetAsync("/v1/task/history?beginAt=253402300800"), HttpStatusCode.BadRequest, "beginAt");
        Assert.Equal(HttpStatusCode.OK, (await Api.Http.GetAsync("/v1/task/history?beginAt=1&endAt=4102444799")).StatusCode);
        await ProblemAsync(await Api.Http.GetAsync("/v1/task/history?endAt=253402300799"), HttpStatusCode.BadRequest, "endAt");
        await ProblemAsync(await PostJsonAsync("/v1/task/quick", $$$"""{"name": "far", "time": 253402300799, "callback": {"url": "{{{Peer.Url("/q")}}}"}}"""),
            HttpStatusCode.BadRequest, "time");

        var callback = Peer.Url("/cron");
        using var latest = await PostJsonAsync("/v1/task", $$$"""
            {"name": "far", "cronJob": {"second": "0", "minute": "0", "hour": "0", "dom": "1", "month": "1", "dow": "*"},
             "startAt": 4102444799, "callback": {"url": "{{{callback}}}"}}
            """);
        Assert.True(latest.StatusCode == HttpStatusCode.Created, await latest.Content.ReadAsStringAsync());
        await ProblemAsync(await PostJsonAsync("/v1/task", $$$"""
            {"name": "far", "cronJob": {"second": "0", "minute": "0", "hour": "0", "dom": "1", "month": "1", "dow": "*"},
             "startAt": 4102444800, "callback": {"url": "{{{callback}}}"}}
            """), HttpStatusCode.BadRequest, "startAt");
    }

    [Fact]
    public async Task Seed_004_inputs_stay_accepted_an_empty_acquire_and_a_list_with_a_cursor()
    {
        await StartAsync(null);
        foreach (var queue in new[] { "qa", "qb", "qc" })
            Assert.Equal(HttpStatusCode.OK, (await PostJsonAsync("/task/put", $$"""{"queue": "{{queue}}", "id": "t"}""")).StatusCode);

        var acquired = await (await PostJsonAsync("/task/acquire", """{"queue": "qa", "ids": []}""")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, acquired.GetProperty("data").GetArrayLength());

        foreach (var empty in new HttpContent[] { new StringContent("{}", Encoding.UTF8, "application/json"), new ByteArrayContent([]) })
        {
            var all = await (await Api.Http.PostAsync("/task/list_queue", empty)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(["qa", "qb", "qc"], all.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(JsonValueKind.Null, all.GetProperty("cursor").ValueKind);
        }
        var first = await (await PostJsonAsync("/task/list_queue", """{"count": 2}""")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["qa", "qb"], first.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        var rest = await (await PostJsonAsync("/task/list_queue", $$"""{"cursor": "{{first.GetProperty("cursor").GetString()}}", "count": 2}"""))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["qc"], rest.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("cursor").ValueKind);

        await ProblemAsync(await PostJsonAsync("/task/list_queue", "{"), HttpStatusCode.BadRequest, "body");
    }

    [Fact]
    public async Task Kestrel_and_routing_refusals_are_problem_details_too()
    {
        await StartAsync(null, ("Api:MaxBodyBytes:Default", "1024"));

        await ProblemAsync(await Api.Http.PatchAsync("/task/new", null), HttpStatusCode.MethodNotAllowed, "method");
        await ProblemAsync(await Api.Http.GetAsync("/no/such/route"), HttpStatusCode.NotFound, "path");
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"pad": "{{new string('p', 4096)}}"}""")));
        chunked.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, $"/task/new?callee={Uri.EscapeDataString(Peer.Url("/work"))}") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await ProblemAsync(await Api.Http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "body");
        await ProblemAsync(await Api.Http.PostAsync($"/callback/new?callback={Uri.EscapeDataString(Peer.Url("/a"))}&callback={Uri.EscapeDataString(Peer.Url("/b"))}",
            JsonContent.Create(new { })), HttpStatusCode.BadRequest, "callback");
        await Task.Delay(300);
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM callbacks"));
    }

    async Task<JsonElement> WaitForStatusAsync(string id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement task = default;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Api.Http.GetAsync($"/tasks/{id}");
            if (response.IsSuccessStatusCode)
            {
                task = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (task.GetProperty("status").GetString() == status)
                    return task;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"task {id} is not {status}: {task}");
    }
}
