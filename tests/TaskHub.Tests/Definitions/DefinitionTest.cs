using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskHub.Tests.Infrastructure;
using TaskHub.Worker;

namespace TaskHub.Tests.Definitions;

/// <summary>
/// A TaskHub whose task types are declared in a definition folder of the test's own, and a
/// loopback peer for HTTP processes and webhooks.
/// </summary>
public abstract class DefinitionTest : SystemTest
{
    protected string Folder { get; } = Directory.CreateTempSubdirectory("taskhub-tasks-").FullName;
    protected LoopbackServer Peer { get; private set; } = null!;
    protected ApiHost Api { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Peer = await LoopbackServer.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Peer.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    /// <summary>Writes <c>&lt;id&gt;.json</c>: <paramref name="definition"/> is serialized as is (use the seed's snake_case names).</summary>
    protected string Define(string id, object definition)
    {
        var file = Path.Combine(Folder, id + ".json");
        File.WriteAllText(file, definition as string ?? JsonSerializer.Serialize(definition));
        return file;
    }

    protected (string, string?)[] WithFolder((string, string?)[] settings) => [("TaskHub:Tasks:Path", Folder), .. settings];

    /// <summary>Scheduler, Worker (when <paramref name="worker"/> is given) and Api, all reading the folder.</summary>
    protected async Task StartAsync(Action<TaskHubWorkerBuilder>? worker, params (string, string?)[] settings)
    {
        await System.StartSchedulerAsync(WithFolder(settings));
        if (worker is not null)
            await System.StartWorkerAsync(worker, WithFolder(settings));
        Api = await System.StartApiAsync(WithFolder(settings));
    }

    protected async Task<(HttpStatusCode Status, JsonElement Body)> AddAsync(string type, object? body = null)
    {
        var response = await Api.Http.PostAsJsonAsync($"/tasks/{type}", body ?? new { });
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>Adds a task that must be accepted as new; returns its id.</summary>
    protected async Task<Guid> AddNewAsync(string type, object? body = null)
    {
        var (status, reply) = await AddAsync(type, body);
        Assert.True(status == HttpStatusCode.Accepted, $"POST /tasks/{type} answered {(int)status}: {reply}");
        return reply.GetProperty("id").GetGuid();
    }

    /// <summary>The task as <c>GET /tasks/{type}/{id}</c> shows it; an undefined element when it answers 404.</summary>
    protected async Task<JsonElement> GetAsync(string type, object id)
    {
        var response = await Api.Http.GetAsync($"/tasks/{type}/{id}");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return default;
        Assert.True(response.IsSuccessStatusCode, $"GET /tasks/{type}/{id} answered {(int)response.StatusCode}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    protected Task<JsonElement> WaitForAsync(string type, Guid id, Func<JsonElement, bool> condition, string what, TimeSpan? timeout = null) =>
        TestSystem.EventuallyAsync(() => GetAsync(type, id), t => t.ValueKind == JsonValueKind.Object && condition(t),
            timeout ?? TimeSpan.FromSeconds(30), $"task {id} of '{type}' {what}");

    protected Task<JsonElement> WaitForStatusAsync(string type, Guid id, string status, TimeSpan? timeout = null) =>
        WaitForAsync(type, id, t => t.GetProperty("status").GetString() == status, $"to be {status}", timeout);

    protected static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    protected static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
