using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace TaskHub.Tests.Definitions;

/// <summary>A type's <c>size</c>: how many of its tasks may wait; an add beyond it is refused with 429.</summary>
public sealed class DefinitionCapacityTests : DefinitionTest
{
    [Fact]
    public async Task The_fourth_add_while_three_wait_is_refused_until_they_start()
    {
        Define("limited", new { size = 3, process = "Noop" });
        await StartAsync(worker: null); // no Worker yet: the tasks wait

        var ids = new List<Guid> { await AddNewAsync("limited", new { id = "first" }) };
        for (var n = 1; n < 3; n++)
            ids.Add(await AddNewAsync("limited"));
        foreach (var id in ids)
            await WaitForStatusAsync("limited", id, "WAITING");

        var refused = await Api.Http.PostAsJsonAsync("/tasks/limited", new { args = Array.Empty<int>() });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("name", problem.GetProperty("field").GetString());
        Assert.Contains("size is 3", problem.GetProperty("detail").GetString());
        // A repeated id is not a new task: it is answered even at capacity.
        var (repeatStatus, repeat) = await AddAsync("limited", new { id = "first" });
        Assert.Equal(HttpStatusCode.OK, repeatStatus);
        Assert.Equal(ids[0], repeat.GetProperty("id").GetGuid());

        await System.StartWorkerAsync(w => w.Register("Noop", () => { }), WithFolder([]));
        foreach (var id in ids)
            await WaitForStatusAsync("limited", id, "SUCCESS");
        await AddNewAsync("limited");
    }

    [Fact]
    public async Task Concurrent_adds_never_overfill_a_type()
    {
        Define("burst", new { size = 3, process = "Noop" });
        await StartAsync(worker: null);

        var replies = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => AddAsync("burst")));

        Assert.Equal(3, replies.Count(r => r.Status == HttpStatusCode.Accepted));
        Assert.Equal(9, replies.Count(r => r.Status == HttpStatusCode.TooManyRequests));
    }
}
