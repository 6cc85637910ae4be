using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using TaskHub.Bench.PullQueue;
using TaskHub.Testing;

namespace TaskHub.Bench;

/// <summary>
/// The services the HTTP rows need, each its own process as in <see cref="TaskHubSystem"/>: Scheduler (migrates the
/// fresh database, runs the task saga and the callback timers), Worker (calls HTTP callees) and Api
/// (<c>dotnet TaskHub.Api.dll</c> on a free loopback port, development profile, loopback callees allowed).
/// One fresh vhost and database for (3a), (3b) and (4) together.
/// </summary>
public sealed class ApiSystem : IAsyncDisposable
{
    readonly BenchServices _services;

    ApiSystem(BenchServices services, Uri baseUrl)
    {
        _services = services;
        BaseUrl = baseUrl;
    }

    public ServiceProcess Scheduler => _services.Scheduler;
    public ServiceProcess Worker => _services.Worker;
    public ServiceProcess Api => _services.Processes[2];
    public Uri BaseUrl { get; }
    public NpgsqlDataSource Db => _services.Db;
    public TimeSpan StartupTime { get; private set; }

    public static async Task<ApiSystem> StartAsync(Stack stack, BenchOptions options, string name, string logDirectory, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var services = await BenchServices.StartAsync(stack, options, name, logDirectory, new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Outbound__AllowLoopback"] = "true",
            ["Outbound__SigningKey"] = "taskhub-bench-signing-key-0123456789abcdef",
        }, cancellationToken);
        var system = new ApiSystem(services, new Uri($"http://127.0.0.1:{FreePort()}"));
        try
        {
            await system.StartApiAsync(cancellationToken);
            system.StartupTime = clock.Elapsed;
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    async Task StartApiAsync(CancellationToken cancellationToken)
    {
        var api = _services.Start("Api", new Dictionary<string, string> { ["ASPNETCORE_URLS"] = BaseUrl.ToString().TrimEnd('/') });
        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        await api.WaitUntilReadyAsync("answer /health", async () =>
        {
            try
            {
                using var health = await http.GetAsync("/health", cancellationToken);
                return health.IsSuccessStatusCode;
            }
            catch (HttpRequestException) { return false; }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { return false; }
        }, cancellationToken);
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void ThrowIfExited() => _services.ThrowIfExited();

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

/// <summary>A Kestrel server in the bench process on 127.0.0.1:0 (callees and callback receivers).</summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    readonly WebApplication _app;

    LoopbackServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// (3) The HTTP paths against an Api process (<see cref="ApiSystem"/>).
/// (3a) POST /task/new?callee=&lt;loopback callee&gt;: the callee answers 200 and then POSTs {ok:true} to the
/// /task/end/&lt;id&gt; URL it was given; tasks/s = N / (first submit → all N Succeeded in the tasks table),
/// latency = finished_at − created_at of the rows.
/// (3b) put → peek → acquire → reply cycles with 8 consumers: <see cref="CycleBench"/> of bench/TaskHub.Bench.PullQueue.
/// </summary>
public static class HttpPathBench
{
    public const string PushPath = "(3a) HTTP POST /task/new";
    public const string PullPath = "(3b) HTTP /task/put + acquire/reply";
    public const string AlonePath = "(3c) HTTP POST /task/new, taken by the Api alone";
    const int InFlight = 64;

    /// <param name="apiAlone">
    /// The Scheduler and the Worker are paused (SIGSTOP) while the requests are taken and resumed after, so the Api's own
    /// path (parse, validate, confirmed send, answer) has the machine; then every task runs to SUCCESS as always.
    /// </param>
    public static async Task<PathResult> RunPushAsync(ApiSystem system, BenchOptions options, int count, bool measure, CancellationToken cancellationToken,
        bool apiAlone = false)
    {
        using var confirmer = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };
        var confirmFailures = 0;
        await using var callee = await LoopbackServer.StartAsync(app => app.MapPost("/callee", (HttpContext context) =>
        {
            var callback = context.Request.Query["callback"].ToString();
            context.Response.OnCompleted(() =>
            {
                _ = Task.Run(async () =>
                {
                    try
                    {
                        using var body = new StringContent("""{"ok":true}""", System.Text.Encoding.UTF8, "application/json");
                        using var r = await confirmer.PostAsync(callback, body);
                        if (!r.IsSuccessStatusCode) Interlocked.Increment(ref confirmFailures);
                    }
                    catch (Exception) { Interlocked.Increment(ref confirmFailures); }
                });
                return Task.CompletedTask;
            });
            return Results.Json(new { ok = true });
        }));

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = InFlight }) { BaseAddress = system.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        var url = $"/task/new?callee={Uri.EscapeDataString(new Uri(callee.BaseUrl, "/callee").ToString())}";
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        var cpu = new CpuMeter(system.Scheduler.Pid, system.Worker.Pid);
        var apiCpu0 = ProcStats.CpuSeconds(system.Api.Pid);
        await using var rss = new RssSampler(system.Scheduler.Pid, system.Worker.Pid, system.Api.Pid);
        var clock = Stopwatch.StartNew();
        int succeeded = 0, failed = 0;
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var submission = new Submission();
        var submitting = Task.Run(async () =>
        {
            using var paused = apiAlone ? ProcStats.Pause(system.Scheduler.Pid, system.Worker.Pid) : null;
            await SubmitAsync(http, url, count, submission, abort.Token);
        }, abort.Token);
        var label = !measure ? "(3a) warm-up" : apiAlone ? AlonePath : PushPath;
        var poll = new CompletionPoll(count);
        await using (measure ? new Progress(label, count, () => (Volatile.Read(ref submission.Submitted), succeeded)) : null)
        {
            while (true)
            {
                (succeeded, failed) = await CountAsync(system.Db, from, abort.Token);
                if (submitting.IsCompleted && succeeded + failed >= submission.Submitted) break;
                if (submitting.IsFaulted) await submitting;
                system.ThrowIfExited();
                if (clock.Elapsed > TimeSpan.FromMinutes(5))
                    throw new TimeoutException($"{label}: only {succeeded} of {count} tasks succeeded ({failed} failed) within 5 minutes");
                await Task.Delay(poll.Next(succeeded + failed), abort.Token);
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        await submitting;
        var used = cpu.Stop();
        var apiCpu = ProcStats.CpuSeconds(system.Api.Pid) - apiCpu0;
        var peak = await rss.StopAsync();
        var latency = await Latency.QueryAsync(system.Db, "tasks", "current_state", "Succeeded", from);
        var note = $"{succeeded} of {count} Succeeded, {failed} failed, {submission.Rejected} rejected by the Api, {confirmFailures} confirmations failed; " +
                   $"accepted (all {submission.Submitted} answered 2xx) in {submission.AcceptedIn.TotalSeconds:0.0} s: {submission.PerSecond:0} tasks/s taken by the Api; " +
                   $"Api process CPU {apiCpu:0.0} s (in 'CPU ms/task': {(used.Total + apiCpu) * 1000 / count:0.00} with it), peak RSS {peak[2]:0} MB; " +
                   $"{InFlight} requests in flight";
        if (apiAlone)
            // The rate is the Api's: requests taken per second while nothing else ran; the latency would be the pause's.
            return new PathResult(AlonePath, submission.Submitted, submission.AcceptedIn.TotalSeconds, new Latency(0, double.NaN, double.NaN, double.NaN),
                used, peak[0], peak[1], $"Scheduler and Worker paused (SIGSTOP) while the requests were taken, resumed after; {note}");
        return new PathResult(PushPath, succeeded, seconds, latency, used, peak[0], peak[1], note);
    }

    /// <summary>What <see cref="SubmitAsync"/> has done so far: requests answered 2xx, refused, and its time.</summary>
    sealed class Submission
    {
        public int Submitted;
        public int Rejected;
        public TimeSpan AcceptedIn;
        public double PerSecond => Submitted / AcceptedIn.TotalSeconds;
    }

    /// <summary>The Api's own path (parse, validate, confirmed send, answer): <paramref name="count"/> requests, <see cref="InFlight"/> at once, first request → last answer.</summary>
    static async Task SubmitAsync(HttpClient http, string url, int count, Submission submission, CancellationToken cancellationToken)
    {
        submission.AcceptedIn = await Windowed.RunAsync(count, InFlight, async i =>
        {
            using var body = new StringContent($$"""{"n":{{i}}}""", System.Text.Encoding.UTF8, "application/json");
            using var r = await http.PostAsync(url, body, cancellationToken);
            if (r.IsSuccessStatusCode) Interlocked.Increment(ref submission.Submitted);
            else if (Interlocked.Increment(ref submission.Rejected) == 1)
                Console.Error.WriteLine($"  /task/new answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync(cancellationToken)}");
        }, cancellationToken);
    }

    static async Task<(int Succeeded, int Failed)> CountAsync(NpgsqlDataSource db, DateTimeOffset from, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("""
            SELECT count(*) FILTER (WHERE current_state = 'Succeeded'), count(*) FILTER (WHERE current_state = 'Failed')
            FROM tasks WHERE created_at >= $1
            """);
        cmd.Parameters.AddWithValue(from);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        await r.ReadAsync(cancellationToken);
        return ((int)r.GetInt64(0), (int)r.GetInt64(1));
    }

    /// <summary>
    /// (3b): bench/TaskHub.Bench.PullQueue's <see cref="CycleBench"/> (8 consumers, 3 s warm-up, /task/call round trips
    /// beside them) against the spawned Api, three times: on the fresh database, with 100,000 cached results in the
    /// consumers' queue, and again after ANALYZE. The row is the fresh run; the note has all three.
    /// </summary>
    public static async Task<PathResult> RunPullAsync(ApiSystem system, BenchOptions options, CancellationToken cancellationToken)
    {
        const int consumers = 8;
        var measured = TimeSpan.FromSeconds(options.Smoke ? 3 : 20);
        var results = options.Smoke ? 1_000 : 100_000;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = system.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        var apiCpu0 = ProcStats.CpuSeconds(system.Api.Pid);
        var cpu = new CpuMeter(system.Scheduler.Pid, system.Worker.Pid);
        await using var rss = new RssSampler(system.Scheduler.Pid, system.Worker.Pid, system.Api.Pid);
        var bench = new CycleBench(new PullQueueHttp(http), consumers, TimeSpan.FromSeconds(3), measured);
        Console.WriteLine($"  {PullPath}: {consumers} consumers, 3 s warm-up + {measured.TotalSeconds:0} s, fresh database");
        var fresh = await bench.RunAsync();
        var used = cpu.Stop();
        var apiCpu = ProcStats.CpuSeconds(system.Api.Pid) - apiCpu0;
        var peak = await rss.StopAsync();

        var queue = CycleBench.NewQueue();
        await SeedResultsAsync(system.Db, queue, results, cancellationToken);
        Console.WriteLine($"  {PullPath}: again with {results:N0} cached results in the queue");
        var crowded = await bench.RunAsync(queue);
        // The run above cleared its queue: seeded again, then the statistics see the results.
        await SeedResultsAsync(system.Db, queue, results, cancellationToken);
        await using (var analyze = system.Db.CreateCommand("ANALYZE queue_items; ANALYZE queue_results"))
            await analyze.ExecuteNonQueryAsync(cancellationToken);
        Console.WriteLine($"  {PullPath}: again after ANALYZE");
        var analyzed = await bench.RunAsync(queue);

        static string Describe(CycleBench.Result r) =>
            $"{r.PerSecond:0} cycles/s ({r.RequestsPerSecond:0} HTTP requests/s), /task/call beside it {r.CallsPerSecond:0}/s " +
            $"(p50 {CallBench.Percentile(r.CallLatencies, 50):0.0} ms, p99 {CallBench.Percentile(r.CallLatencies, 99):0.0} ms)";
        var note = $"CycleBench of bench/TaskHub.Bench.PullQueue, {consumers} consumers, {measured.TotalSeconds:0} s each: fresh database {Describe(fresh)}; " +
                   $"with {results:N0} cached results in the queue {Describe(crowded)}; after ANALYZE {Describe(analyzed)}; " +
                   $"tasks/s = cycles/s of the fresh run; CPU (fresh run, warm-up included): Api process {apiCpu:0.0} s, peak RSS {peak[2]:0} MB";
        return new PathResult(PullPath, (int)fresh.Cycles, fresh.Cycles / fresh.PerSecond, new Latency(0, double.NaN, double.NaN, double.NaN), used, peak[0], peak[1], note);
    }

    /// <summary>Replied tasks whose results a consumer's queue keeps for an hour, written straight to the table (M0022).</summary>
    static async Task SeedResultsAsync(NpgsqlDataSource db, string queue, int count, CancellationToken cancellationToken)
    {
        await using var seed = db.CreateCommand("""
            INSERT INTO queue_results (queue, id, seq, lease, info, content, replied_at, expires_at)
            SELECT $1, 'cached-' || n, nextval('queue_items_seq'), 1, '{"ok":true}', decode(repeat('ab', 256), 'hex'), now(), now() + interval '1 hour'
            FROM generate_series(1, $2) n
            ON CONFLICT (queue, id) DO NOTHING
            """);
        seed.Parameters.AddWithValue(queue);
        seed.Parameters.AddWithValue(count);
        await seed.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>
/// (4) Timers: <c>POST /callback/new?callback=&lt;loopback receiver&gt;&amp;setTimeout=1000 + i*9</c> for i in 0..N-1
/// (N = 1,000, due within ~10 s), submitted as fast as possible; due = the moment the request was sent + setTimeout,
/// lateness = arrival at the receiver in this process − due. p50/p99 columns are lateness; max and arrivals in the note.
/// A warm-up of 500 timers due within 1 s and 5 s of quiet (not measured) come first, as the other paths warm up with 500 tasks.
/// </summary>
public static class TimerBench
{
    public const string Path = "(4) timers: 1,000 setTimeout callbacks";
    const int InFlight = 16;

    public static async Task<PathResult> RunAsync(ApiSystem system, BenchOptions options, CancellationToken cancellationToken)
    {
        var count = options.TimerCount ?? (options.Smoke ? 200 : 1000);
        var warmUp = options.Smoke ? 20 : 500;
        var warmArrivals = 0;
        var clock = Stopwatch.StartNew();
        var due = new double[count];
        var arrivedTicks = new long[count]; // Stopwatch ticks of the clock + 1; 0 = not arrived
        var arrivals = 0;
        var duplicates = 0;
        await using var receiver = await LoopbackServer.StartAsync(app =>
        {
            app.MapPost("/warm", () =>
            {
                Interlocked.Increment(ref warmArrivals);
                return Results.Json(new { ok = true });
            });
            app.MapPost("/fire/{i:int}", (int i) =>
            {
                var now = clock.ElapsedTicks + 1;
                if (i >= 0 && i < count)
                {
                    if (Interlocked.CompareExchange(ref arrivedTicks[i], now, 0) == 0) Interlocked.Increment(ref arrivals);
                    else Interlocked.Increment(ref duplicates);
                }
                return Results.Json(new { ok = true });
            });
        });

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = InFlight }) { BaseAddress = system.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        var warmCallback = Uri.EscapeDataString(new Uri(receiver.BaseUrl, "/warm").ToString());
        await Task.WhenAll(Enumerable.Range(0, warmUp).Select(async i =>
        {
            using var body = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            (await http.PostAsync($"/callback/new?callback={warmCallback}&setTimeout={i * 2}", body, cancellationToken)).EnsureSuccessStatusCode();
        }));
        while (Volatile.Read(ref warmArrivals) < warmUp && clock.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(50, cancellationToken);
        // The runtime recompiles the methods the warm-up made hot, in the background, for a few seconds.
        await Task.Delay(TimeSpan.FromSeconds(options.Smoke ? 0 : 5), cancellationToken);
        clock.Restart();

        var cpu = new CpuMeter(system.Scheduler.Pid, system.Worker.Pid);
        var apiCpu0 = ProcStats.CpuSeconds(system.Api.Pid);
        await using var rss = new RssSampler(system.Scheduler.Pid, system.Worker.Pid, system.Api.Pid);
        var rejected = 0;
        var submitted = 0;
        var submitSeconds = (await Windowed.RunAsync(count, InFlight, async i =>
        {
            // Due within ~10 s whatever the count: 1000 + i*9 ms for 1,000.
            var delay = 1000 + (int)((long)i * 9000 / count);
            var callback = Uri.EscapeDataString(new Uri(receiver.BaseUrl, $"/fire/{i}").ToString());
            using var body = new StringContent($$"""{"i":{{i}}}""", System.Text.Encoding.UTF8, "application/json");
            due[i] = clock.Elapsed.TotalMilliseconds + delay;
            using var r = await http.PostAsync($"/callback/new?callback={callback}&setTimeout={delay}", body, cancellationToken);
            if (r.IsSuccessStatusCode) Interlocked.Increment(ref submitted);
            else if (Interlocked.Increment(ref rejected) == 1)
                Console.Error.WriteLine($"  /callback/new answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        }, cancellationToken)).TotalSeconds;

        await using (new Progress($"(4) timers: {count} setTimeout callbacks", count, () => (submitted, Volatile.Read(ref arrivals))))
        {
            var lastDue = due.Max();
            while (Volatile.Read(ref arrivals) < submitted && clock.Elapsed.TotalMilliseconds < lastDue + 60_000)
            {
                system.ThrowIfExited();
                await Task.Delay(50, cancellationToken);
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var used = cpu.Stop();
        var apiCpu = ProcStats.CpuSeconds(system.Api.Pid) - apiCpu0;
        var peak = await rss.StopAsync();
        var late = Enumerable.Range(0, count).Where(i => arrivedTicks[i] != 0)
            .Select(i => (arrivedTicks[i] - 1) * 1000.0 / Stopwatch.Frequency - due[i]).OrderBy(x => x).ToArray();
        double Pct(double p) => late.Length == 0 ? double.NaN : late[Math.Clamp((int)Math.Ceiling(p / 100 * late.Length) - 1, 0, late.Length - 1)];
        var latency = new Latency(late.Length, Pct(50), Pct(99), late.Length == 0 ? double.NaN : late[^1]);
        var note = $"{late.Length} of {count} arrived{(late.Length == count ? "" : " (MISSING some)")}, {duplicates} duplicates, {rejected} rejected; " +
                   $"lateness (arrival − (send + setTimeout)) p50 {latency.P50:0} ms, p99 {latency.P99:0} ms, max {latency.Max:0} ms, min {(late.Length > 0 ? late[0] : double.NaN):0} ms; " +
                   $"{count} submitted in {submitSeconds:0.0} s ({InFlight} in flight), setTimeout 1000 + i*{9000.0 / count:0.###} ms; p50/p99 columns are lateness, tasks/s not applicable; " +
                   $"Api process CPU {apiCpu:0.0} s, peak RSS {peak[2]:0} MB";
        return new PathResult(Path.Replace("1,000", count.ToString("N0")), late.Length, double.NaN, latency, used, peak[0], peak[1], note);
    }
}
