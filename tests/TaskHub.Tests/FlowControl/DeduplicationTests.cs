using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.FlowControl;

/// <summary>
/// Deduplication windows (issue 20) on the real stack: within <c>dedupe</c> seconds (HTTP) or <c>DeduplicateFor</c> (.NET)
/// the same request returns the first one's id and creates nothing, however many come at once and on whichever Api;
/// another body, schedule or argument is another piece of work; once the window closes the request creates anew.
/// </summary>
public sealed class DeduplicationTests : SystemTest
{
    static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, string path, string body)
    {
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    static string IdOf((HttpStatusCode Status, JsonElement Body) answer)
    {
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        return answer.Body.GetProperty("data").GetString()!;
    }

    [Fact]
    public async Task Fifty_concurrent_callback_requests_within_the_window_make_one_callback_delivered_once()
    {
        await using var peer = await LoopbackServer.StartAsync();
        await System.StartSchedulerAsync();
        var apis = new[] { (await System.StartApiAsync()).Http, (await System.StartApiAsync()).Http };
        var path = $"/callback/new?callback={Uri.EscapeDataString(peer.Url("/cb"))}&dedupe=60";

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => PostAsync(apis[i % 2], path, """{"order":42}""")));

        var id = Assert.Single(answers.Select(IdOf).Distinct());
        Assert.Equal(1, await System.CountAsync("SELECT count(*) FROM callbacks"));
        await peer.WaitForAsync("/cb", 1);
        await Task.Delay(1000);
        Assert.Equal("""{"order":42}""", Assert.Single(peer.To("/cb")).Body);

        // Another body, or the same body on another schedule, is other work.
        var other = IdOf(await PostAsync(apis[0], path, """{"order":43}"""));
        var later = IdOf(await PostAsync(apis[1], path + "&setTimeout=3600000", """{"order":42}"""));
        Assert.Equal(3, new[] { id, other, later }.Distinct().Count());
        Assert.Equal(id, IdOf(await PostAsync(apis[1], path, """{"order":42}""")));
        Assert.Equal(3, await System.CountAsync("SELECT count(*) FROM callbacks"));
    }

    [Fact]
    public async Task A_closed_window_creates_anew_and_bad_windows_are_refused_naming_dedupe()
    {
        await using var peer = await LoopbackServer.StartAsync();
        await System.StartSchedulerAsync();
        var api = (await System.StartApiAsync()).Http;
        var path = $"/callback/new?callback={Uri.EscapeDataString(peer.Url("/cb"))}&setTimeout=3600000&dedupe=1";

        var first = IdOf(await PostAsync(api, path, "{}"));
        Assert.Equal(first, IdOf(await PostAsync(api, path, "{}")));
        await Task.Delay(1500);
        var second = IdOf(await PostAsync(api, path, "{}"));
        Assert.NotEqual(first, second);
        Assert.Equal(2, await System.CountAsync("SELECT count(*) FROM callbacks"));

        foreach (var query in new[] { "dedupe=0", "dedupe=86401", "dedupe=x", "key=k&window=1000&dedupe=10" })
        {
            var refused = await PostAsync(api, $"/callback/new?callback={Uri.EscapeDataString(peer.Url("/cb"))}&{query}", "{}");
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.True(refused.Body.GetProperty("errors").TryGetProperty("dedupe", out _), $"{query}: {refused.Body}");
        }
        Assert.Equal(2, await System.CountAsync("SELECT count(*) FROM callbacks"));
    }

    [Fact]
    public async Task Fifty_concurrent_dotnet_sends_within_the_window_make_one_task_run_once()
    {
        await System.StartSchedulerAsync();
        var runs = new ConcurrentQueue<int>();
        await System.StartWorkerAsync(w => w.Register("Deduped", (int n) => { runs.Enqueue(n); return n; }));
        var client = await System.StartClientAsync();
        var once = new SendTaskOptions(DeduplicateFor: TimeSpan.FromMinutes(1));

        var ids = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.SendTaskAsync(TaskSignature.Create("Deduped", 7), once)));

        var id = Assert.Single(ids.Distinct());
        Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(id, TimeSpan.FromSeconds(30))).Status);
        // Other arguments are another task; so is a send that asks for no window.
        var other = await client.SendTaskAsync(TaskSignature.Create("Deduped", 8), once);
        var plain = await client.SendTaskAsync(TaskSignature.Create("Deduped", 7));
        Assert.Equal(id, await client.SendTaskAsync(TaskSignature.Create("Deduped", 7), once));
        foreach (var each in new[] { other, plain })
            Assert.Equal(TaskStatuses.Success, (await client.WaitForResultAsync(each, TimeSpan.FromSeconds(30))).Status);
        await Task.Delay(1000);
        Assert.Equal([7, 7, 8], runs.Order().ToArray());
        Assert.Equal(3, await System.CountAsync("SELECT count(*) FROM tasks"));

        // A closed window sends anew.
        var brief = new SendTaskOptions(DeduplicateFor: TimeSpan.FromSeconds(1));
        var first = await client.SendTaskAsync(TaskSignature.Create("Deduped", 9), brief);
        await Task.Delay(1500);
        Assert.NotEqual(first, await client.SendTaskAsync(TaskSignature.Create("Deduped", 9), brief));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            client.SendTaskAsync(TaskSignature.Create("Deduped", 9), new SendTaskOptions(DeduplicateFor: TimeSpan.FromDays(2))));
    }
}
