using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.PullQueue;

/// <summary>Malformed requests are 400 ProblemDetails naming the field, and change nothing.</summary>
public sealed class PullQueueValidationTests : SystemTest
{
    /// <summary>(route, body, the field the answer must name).</summary>
    static readonly (string Op, string Body, string Field)[] BadRequests =
    [
        ("put", """{"id": "t1"}""", "queue"),
        ("put", """{"queue": "", "id": "t1"}""", "queue"),
        ("put", """{"queue": 5, "id": "t1"}""", "queue"),
        ("put", """{"queue": "q"}""", "id"),
        ("put", """{"queue": "q", "id": "t1", "content": "not base64!"}""", "content"),
        ("put", """{"queue": "q", "id": "t1", "config": "fast"}""", "config"),
        ("put", """{"queue": "q", "id": "t1", "config": {"forward_result_to": 5}}""", "config.forward_result_to"),
        ("put", """{"queue": "q", "id": "t1", "config": {"forward_result_to": "q"}}""", "config.forward_result_to"),
        ("put", """{"queue": "q", "id": "t1", "config": {"cache_result_time": -1}}""", "config.cache_result_time"),
        ("put", $$"""{"queue": "{{new string('q', 250)}}", "id": "t1"}""", "queue"),
        ("put", """[{"queue": "q", "id": "t1"}]""", "body"),
        ("put", """{"queue": "q", "id": """, "body"),
        ("peek", """{"queue": "q", "size": -1}""", "size"),
        ("peek", """{"queue": "q", "size": "ten"}""", "size"),
        ("peek", """{"queue": "q", "timeout": -1}""", "timeout"),
        ("peek", """{"queue": "q", "cursor": "abc"}""", "cursor"),
        ("acquire", """{"queue": "q", "ids": "t1"}""", "ids"),
        ("acquire", """{"queue": "q", "ids": ["t1", 2]}""", "ids"),
        ("acquire", """{"queue": "q", "ids": ["t1"], "promise_reply_time": 0}""", "promise_reply_time"),
        ("reply", """{"queue": "q"}""", "id"),
        ("reply", """{"queue": "q", "id": "t1", "content": "%%%"}""", "content"),
        ("reply", """{"queue": "q", "id": "t1", "lease": "one"}""", "lease"),
        ("call", """{"queue": "q", "id": "t1", "timeout": -5}""", "timeout"),
        ("call", """{"queue": "q", "id": "t1", "config": {"cache_result_time": "long"}}""", "config.cache_result_time"),
        ("remove", """{"queue": "q"}""", "id"),
        ("clear_queue", """{}""", "queue"),
        ("stat_queue", """{"queue": []}""", "queue"),
        ("status", """{"id": "t1"}""", "queue"),
    ];

    [Fact]
    public async Task The_openapi_document_requires_only_the_queue_and_task_names()
    {
        var api = await System.StartApiAsync();
        var schemas = (await api.Http.GetFromJsonAsync<JsonElement>("/docs/v1.json")).GetProperty("components").GetProperty("schemas");
        string[] Required(string schema) => schemas.GetProperty(schema).TryGetProperty("required", out var required)
            ? [.. required.EnumerateArray().Select(e => e.GetString()!).Order()]
            : [];

        Assert.Equal(["id", "queue"], Required("PutRequest"));
        Assert.Equal(["queue"], Required("PeekRequest"));
        Assert.Equal(["ids", "queue"], Required("AcquireRequest"));
        Assert.Equal(["id", "queue"], Required("ReplyRequest"));
        Assert.Equal(["id", "queue"], Required("CallRequest"));
        Assert.Empty(Required("TaskConfig"));
    }

    // All cases against one system, whose queue state must be unchanged after each.
    [Fact]
    public async Task Each_malformed_request_is_a_400_naming_the_field_and_changes_nothing()
    {
        var api = await System.StartApiAsync();
        var client = new PullQueueClient(api.Http);
        Assert.True(await client.PutAsync("q", "t1", new { n = 1 }));
        Assert.Single(await client.AcquireAsync("q", ["t1"]));
        var before = (await client.StatAsync("q")).ToString();

        foreach (var (op, body, field) in BadRequests)
        {
            using var response = await api.Http.PostAsync($"/task/{op}", new StringContent(body, Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            var what = $"/task/{op} {body} answered {(int)response.StatusCode} {text}";

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, what);
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", what);
            var problem = JsonDocument.Parse(text).RootElement;
            Assert.True(problem.GetProperty("field").GetString() == field, $"expected field '{field}': {what}");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages) && messages[0].GetString()!.Contains(field), what);

            Assert.True((await client.StatAsync("q")).ToString() == before, $"state changed after {what}");
        }
        Assert.Equal(["q"], await client.ListAsync());
        Assert.Equal(TaskHub.Contracts.Tasks.TaskStatuses.Running, (await client.StatusAsync("q", "t1")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Several_bad_fields_are_all_named()
    {
        var api = await System.StartApiAsync();

        using var response = await api.Http.PostAsync("/task/peek",
            new StringContent("""{"size": 0, "timeout": "soon"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(["queue", "size", "timeout"], errors.EnumerateObject().Select(e => e.Name).Order().ToArray());
    }

    [Fact]
    public async Task Inconsistent_settings_stop_the_api_at_start_up_naming_the_key()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() =>
            System.StartApiAsync(("PullQueue:DefaultCallTimeout", "100"), ("PullQueue:MaxTimeout", "10")));

        Assert.Contains("PullQueue:DefaultCallTimeout", failure.Message);
    }
}
