using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using System.Text.Json;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.CallbackCenter;

/// <summary>A whole TaskHub (Scheduler, Worker, Api) and a loopback peer playing the seed's express app.</summary>
public abstract class CallbackCenterTest : SystemTest
{
    protected LoopbackServer Peer { get; private set; } = null!;
    protected ApiHost Api { get; set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Peer = await LoopbackServer.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Peer.DisposeAsync();
    }

    /// <summary>The Api's settings for who may call it; the tests' client then sends <see cref="ApiKey"/> when there is one.</summary>
    protected virtual (string, string?)[] AccessSettings => [];

    protected virtual string? ApiKey => null;

    protected async Task StartTaskHubAsync(params (string, string?)[] settings)
    {
        await System.StartSchedulerAsync(settings);
        await System.StartWorkerAsync(_ => { }, settings);
        Api = await System.StartApiAsync([.. AccessSettings, .. settings]);
        if (ApiKey is { } key)
            Api.Http.DefaultRequestHeaders.Add("X-Api-Key", key);
    }

    /// <summary>POSTs like the seed's axios calls: query parameters and a JSON body; returns the <c>data</c> id.</summary>
    protected async Task<string> PostAsync(string path, object? body, params (string Key, string Value)[] query)
    {
        var response = await Api.Http.PostAsJsonAsync(WithQuery(path, query), body ?? new { });
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {reply}");
        Assert.True(reply.GetProperty("ok").GetBoolean());
        return reply.GetProperty("data").GetString()!;
    }

    protected static string WithQuery(string path, params (string Key, string Value)[] query) =>
        query.Length == 0 ? path : path + "?" + string.Join("&", query.Select(q => $"{q.Key}={Uri.EscapeDataString(q.Value)}"));

    /// <summary>The task as <c>GET /tasks/{id}</c> shows it; an undefined element while it is not there (yet).</summary>
    protected async Task<JsonElement> TaskAsync(string id)
    {
        var response = await Api.Http.GetAsync($"/tasks/{id}");
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
    }

    protected Task<JsonElement> TaskInStatusAsync(string id, string status, TimeSpan? timeout = null) =>
        TestSystem.EventuallyAsync(() => TaskAsync(id),
            t => t.ValueKind == JsonValueKind.Object && t.GetProperty("status").GetString() == status, timeout, $"task {id} to be {status}");

    protected static JsonElement Json(string body) => JsonDocument.Parse(body).RootElement;

    /// <summary>The seed's long-running <c>/work</c>: answers at once, then confirms through the callback URL it was given.</summary>
    protected void MapConfirmingWork(string path, Func<JsonElement, object> result, int confirmAfterMs = 100)
    {
        Peer.Map(path, async (request, context) =>
        {
            var callback = request.Query["callback"].ToString();
            var payload = Json(request.Body);
            await context.Response.WriteAsJsonAsync(new { ok = true });
            _ = Task.Run(async () =>
            {
                await Task.Delay(confirmAfterMs);
                using var http = new HttpClient();
                await http.PostAsJsonAsync(callback, result(payload));
            });
        });
    }
}
