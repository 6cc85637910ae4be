using System.Net.Http.Json;
using System.Text.Json;

namespace TaskHub.Bench.PullQueue;

/// <summary>The few /task/&lt;op&gt; calls the bench makes; any answer but HTTP 200 with err_code 0000 (or 0001 from call) stops it.</summary>
public sealed class PullQueueHttp(HttpClient http)
{
    public async Task<JsonElement> PostAsync(string op, object body, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync($"/task/{op}", body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"/task/{op} answered {(int)response.StatusCode}: {text}");
        var answer = JsonDocument.Parse(text).RootElement.Clone();
        var code = answer.GetProperty("err_code").GetString();
        if (code != "0000" && !(op == "call" && code == "0001"))
            throw new InvalidOperationException($"/task/{op} answered err_code {code}: {text}");
        return answer;
    }

    public Task PutAsync(string queue, string id, object info, byte[] content) =>
        PostAsync("put", new { queue, id, info, content = Convert.ToBase64String(content) });

    public async Task<string[]> PeekAsync(string queue, int size, double timeout, CancellationToken cancellationToken = default) =>
        (await PostAsync("peek", new { queue, size, timeout }, cancellationToken)).GetProperty("data").EnumerateArray()
            .Select(t => t.GetProperty("id").GetString()!).ToArray();

    /// <summary>The acquired tasks' ids and leases.</summary>
    public async Task<(string Id, int Lease)[]> AcquireAsync(string queue, string[] ids, CancellationToken cancellationToken = default) =>
        (await PostAsync("acquire", new { queue, ids, promise_reply_time = 30 }, cancellationToken)).GetProperty("data").EnumerateArray()
            .Select(t => (t.GetProperty("id").GetString()!, t.GetProperty("lease").GetInt32())).ToArray();

    public async Task<bool> ReplyAsync(string queue, string id, int lease, object info, byte[] content, CancellationToken cancellationToken = default) =>
        (await PostAsync("reply", new { queue, id, lease, info, content = Convert.ToBase64String(content) }, cancellationToken))
            .GetProperty("data").GetBoolean();

    public Task ClearAsync(string queue) => PostAsync("clear_queue", new { queue });
}
