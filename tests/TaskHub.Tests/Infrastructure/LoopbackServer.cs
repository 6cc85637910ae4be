using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TaskHub.Tests.Infrastructure;

/// <summary>One request a <see cref="LoopbackServer"/> received.</summary>
public sealed record ReceivedRequest(string Method, string Path, IQueryCollection Query, string Body, IHeaderDictionary Headers, DateTimeOffset At);

/// <summary>
/// A real HTTP peer on Kestrel at 127.0.0.1 (a free port): the callees and callbacks of the
/// seeds' express apps. It records every request; a test maps the answers it wants per path.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly ConcurrentDictionary<string, Func<ReceivedRequest, HttpContext, Task>> _routes = new();

    LoopbackServer(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();
    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<LoopbackServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LoopbackServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.BaseAddress = new Uri(app.Urls.First());
        return server;
    }

    public string Url(string pathAndQuery) => new Uri(BaseAddress, pathAndQuery).ToString();

    /// <summary>Answers requests to <paramref name="path"/> with <paramref name="respond"/>; unmapped paths answer <c>{"ok":true}</c>.</summary>
    public void Map(string path, Func<ReceivedRequest, HttpContext, Task> respond) => _routes[path] = respond;

    public IReadOnlyList<ReceivedRequest> To(string path) => Requests.Where(r => r.Path == path).ToList();

    public Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(string path, int count, TimeSpan? timeout = null) =>
        TestSystem.EventuallyAsync(() => Task.FromResult(To(path)), r => r.Count >= count, timeout ?? TimeSpan.FromSeconds(30),
            $"{count} request(s) to {path}");

    async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        // Kestrel recycles a request's header and query objects: keep copies.
        var request = new ReceivedRequest(context.Request.Method, context.Request.Path,
            new QueryCollection(context.Request.Query.ToDictionary(q => q.Key, q => q.Value)), await reader.ReadToEndAsync(),
            new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)), DateTimeOffset.UtcNow);
        Requests.Enqueue(request);
        if (_routes.TryGetValue(request.Path, out var respond))
            await respond(request, context);
        else
            await context.Response.WriteAsJsonAsync(new { ok = true });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
