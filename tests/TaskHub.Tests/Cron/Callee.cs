using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TaskHub.Tests.Cron;

/// <summary>A request the callee received.</summary>
public sealed record CalleeRequest(string Method, string Path, string Body, string? ContentType, IReadOnlyDictionary<string, string> Headers,
    DateTimeOffset At)
{
    public string Token => Headers["X-TaskHub-Token"];
}

/// <summary>
/// The receiver of scheduled callbacks: Kestrel on a free loopback port, recording every request
/// and answering with whatever status <see cref="Respond"/> says (200 unless told otherwise).
/// </summary>
public sealed class Callee : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly ConcurrentQueue<CalleeRequest> _requests = new();

    Callee(WebApplication app) => _app = app;

    public Func<CalleeRequest, Task<int>> Respond { get; set; } = _ => Task.FromResult(200);

    public IReadOnlyList<CalleeRequest> Requests => _requests.ToArray();

    public IReadOnlyList<CalleeRequest> On(string path) => Requests.Where(r => r.Path == path).ToList();

    public string Url(string path) => new Uri(new Uri(_app.Urls.First()), path).ToString();

    public static async Task<Callee> StartAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var callee = new Callee(app);
        app.Run(async context =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var request = new CalleeRequest(context.Request.Method, context.Request.Path, body, context.Request.ContentType,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                DateTimeOffset.UtcNow);
            callee._requests.Enqueue(request);
            context.Response.StatusCode = await callee.Respond(request);
        });
        await app.StartAsync();
        return callee;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
