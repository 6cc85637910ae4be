using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace TaskHub.Tests.PullQueue;

/// <summary>A client of one Api instance's <c>POST /task/&lt;op&gt;</c> routes, speaking seed 004's JSON.</summary>
public sealed class PullQueueClient(HttpClient http)
{
    public HttpClient Http => http;

    /// <summary>The whole answer of a request that must succeed (HTTP 200).</summary>
    public async Task<JsonElement> PostAsync(string op, object body, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync($"/task/{op}", body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/task/{op} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The <c>data</c> of an answer that must have <c>err_code</c> 0000.</summary>
    public async Task<JsonElement> DataAsync(string op, object body, CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync(op, body, cancellationToken);
        Assert.Equal("0000", answer.GetProperty("err_code").GetString());
        return answer.GetProperty("data");
    }

    public async Task<bool> PutAsync(string queue, string id, object? info = null, string? content = null, object? config = null) =>
        (await DataAsync("put", new { queue, id, info, content = Base64(content), config })).GetBoolean();

    /// <summary>The whole answer: <c>data</c> and <c>cursor</c>.</summary>
    public Task<JsonElement> PeekAsync(string queue, int size = 1, double timeout = 0, string? cursor = null, CancellationToken cancellationToken = default) =>
        PostAsync("peek", new { queue, size, timeout, cursor }, cancellationToken);

    public async Task<string[]> PeekIdsAsync(string queue, int size = 100, string? cursor = null) =>
        Ids((await PeekAsync(queue, size, cursor: cursor)).GetProperty("data"));

    public async Task<JsonElement[]> AcquireAsync(string queue, string[] ids, double promiseReplyTime = 60, CancellationToken cancellationToken = default) =>
        (await DataAsync("acquire", new { queue, ids, promise_reply_time = promiseReplyTime }, cancellationToken)).EnumerateArray().ToArray();

    public async Task<bool> ReplyAsync(string queue, string id, object? info = null, string? content = null, int? lease = null,
        CancellationToken cancellationToken = default) =>
        (await DataAsync("reply", new { queue, id, info, content = Base64(content), lease }, cancellationToken)).GetBoolean();

    /// <summary>The whole answer: <c>err_code</c> is 0000 or 0001 (timeout).</summary>
    public Task<JsonElement> CallAsync(string queue, string id, object? info = null, string? content = null, double timeout = 20, object? config = null) =>
        PostAsync("call", new { queue, id, info, content = Base64(content), config, timeout });

    public async Task<bool> RemoveAsync(string queue, string id) => (await DataAsync("remove", new { queue, id })).GetBoolean();

    public async Task<long> ClearAsync(string queue) => (await DataAsync("clear_queue", new { queue })).GetInt64();

    public async Task<string[]> ListAsync() =>
        (await DataAsync("list_queue", new { })).EnumerateArray().Select(q => q.GetString()!).ToArray();

    public Task<JsonElement> StatAsync(string queue) => DataAsync("stat_queue", new { queue });

    public Task<JsonElement> StatusAsync(string queue, string id) => DataAsync("status", new { queue, id });

    public static string? Base64(string? text) => text is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static string Text(JsonElement base64) => Encoding.UTF8.GetString(base64.GetBytesFromBase64());

    public static string[] Ids(JsonElement tasks) => tasks.EnumerateArray().Select(t => t.GetProperty("id").GetString()!).ToArray();
}
