using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Microsoft.Extensions.DependencyInjection;
using TaskHub.Contracts.Tasks;
using TaskHub.Tests.CallbackCenter;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Telemetry;

/// <summary>
/// Issue 17 on the real stack: one trace from a request to its callback across the Api, the Scheduler and
/// the Worker (and onto the callee's and the callback's requests), a .NET handler inside its producer's
/// trace, the processes' <c>/metrics</c> counting what happened, and the Worker's queue probe.
/// </summary>
public sealed partial class TelemetryTests : CallbackCenterTest
{
    static readonly ActivitySource UserCode = new("TaskHub.Tests.UserCode");

    /// <summary>Every span of this process, whichever host made it (the hosts run in-process).</summary>
    static TracerProvider Spans(List<Activity> into) => Sdk.CreateTracerProviderBuilder()
        .AddSource(UserCode.Name, "TaskHub", "MassTransit")
        .AddAspNetCoreInstrumentation()
        .AddHttpClientInstrumentation()
        .AddInMemoryExporter(into)
        .Build()!;

    [Fact]
    public async Task One_task_new_is_one_trace_from_the_request_through_the_callee_to_the_callback()
    {
        var spans = new List<Activity>();
        using var tracing = Spans(spans);
        await StartTaskHubAsync();
        // The seed's callee: answers, then confirms without passing any trace header on (axios does not).
        MapConfirmingWork("/work", _ => new { ok = true, data = "traced" });
        Peer.Map("/callback", (_, http) => http.Response.WriteAsJsonAsync(new { ok = true }));

        ActivityTraceId traceId;
        using (var request = UserCode.StartActivity("user submits"))
        {
            traceId = request!.TraceId;
            await PostAsync("/task/new", new { n = 1 }, ("callee", Peer.Url("/work")), ("callback", Peer.Url("/callback")));
        }

        var callback = (await Peer.WaitForAsync("/callback", 1, TimeSpan.FromSeconds(30)))[0];
        var callee = Peer.To("/work").Single();
        Assert.Equal(traceId.ToHexString(), TraceOf(callee));
        Assert.Equal(traceId.ToHexString(), TraceOf(callback));
        await Task.Delay(500); // the last spans end as the answers go out
        List<Activity> trace;
        lock (spans)
            trace = spans.Where(s => s.TraceId == traceId).ToList();
        Assert.Contains(trace, s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("/task/new"));
        Assert.Contains(trace, s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer && Mentions(s, "taskhub.task-submit"));
        Assert.Contains(trace, s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer && Mentions(s, "taskhub.http"));
        Assert.Contains(trace, s => s.Source.Name == "TaskHub" && s.DisplayName == "taskhub.callback.deliver");
    }

    [Fact]
    public async Task A_timed_callback_is_delivered_in_the_trace_of_the_request_that_made_it()
    {
        var spans = new List<Activity>();
        using var tracing = Spans(spans);
        await StartTaskHubAsync();
        Peer.Map("/later", (_, http) => http.Response.WriteAsJsonAsync(new { ok = true }));

        ActivityTraceId traceId;
        using (var request = UserCode.StartActivity("user sets a timer"))
        {
            traceId = request!.TraceId;
            await PostAsync("/callback/new", new { n = 1 }, ("callback", Peer.Url("/later")), ("setTimeout", "300"));
        }

        var delivered = (await Peer.WaitForAsync("/later", 1, TimeSpan.FromSeconds(20)))[0];
        Assert.Equal(traceId.ToHexString(), TraceOf(delivered));
    }

    [Fact]
    public async Task A_dotnet_handler_runs_inside_its_producers_trace()
    {
        var spans = new List<Activity>();
        using var tracing = Spans(spans);
        ActivityTraceId? seen = null;
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Traced", () =>
        {
            seen = Activity.Current?.TraceId;
            return "ok";
        }));
        var client = await System.StartClientAsync();
        Api = await System.StartApiAsync();

        ActivityTraceId traceId;
        Guid id;
        using (var producing = UserCode.StartActivity("producer sends"))
        {
            traceId = producing!.TraceId;
            id = await client.SendTaskAsync(TaskSignature.Create("Traced"));
        }

        await TaskInStatusAsync(id.ToString(), TaskStatuses.Success);
        Assert.Equal(traceId, seen);
    }

    [Fact]
    public async Task A_pull_queue_tasks_acquire_and_reply_link_to_the_trace_it_was_put_in()
    {
        var spans = new List<Activity>();
        using var tracing = Spans(spans);
        Api = await System.StartApiAsync();
        var queue = new PullQueue.PullQueueClient(Api.Http);

        ActivityTraceId put;
        using (var producer = UserCode.StartActivity("producer puts"))
        {
            put = producer!.TraceId;
            Assert.True(await queue.PutAsync("traced", "t1"));
        }
        int lease;
        using (UserCode.StartActivity("consumer acquires"))
            lease = (await queue.AcquireAsync("traced", ["t1"]))[0].GetProperty("lease").GetInt32();
        using (UserCode.StartActivity("consumer replies"))
            Assert.True((await queue.DataAsync("reply", new { queue = "traced", id = "t1", lease })).GetBoolean());

        List<Activity> linked;
        lock (spans)
            linked = spans.Where(s => s.Source.Name == "TaskHub" && s.Links.Any(l => l.Context.TraceId == put)).ToList();
        Assert.Equal(["taskhub.pull_queue.acquire", "taskhub.pull_queue.reply"], linked.Select(s => s.DisplayName).Order());
        Assert.All(linked, s => Assert.NotEqual(put, s.TraceId));
    }

    [Fact]
    public async Task Each_processes_metrics_count_what_it_did()
    {
        var schedulerPort = FreePort();
        var workerPort = FreePort();
        Peer.Map("/timer", (_, http) => http.Response.WriteAsJsonAsync(new { ok = true }));
        await System.StartSchedulerAsync(("Health:Urls", $"http://127.0.0.1:{schedulerPort}"));
        await System.StartWorkerAsync(w => w.Register("Works", () => "done").Register("Breaks", (Func<string>)(() => throw new InvalidOperationException("broken"))),
            ("Health:Urls", $"http://127.0.0.1:{workerPort}"));
        var client = await System.StartClientAsync();
        Api = await System.StartApiAsync();

        var ids = new List<(Guid Id, string Status)>();
        for (var i = 0; i < 3; i++)
            ids.Add((await client.SendTaskAsync(TaskSignature.Create("Works")), TaskStatuses.Success));
        for (var i = 0; i < 2; i++)
            ids.Add((await client.SendTaskAsync(TaskSignature.Create("Breaks"), new Contracts.Client.SendTaskOptions(Policy: new(Attempts: 1))),
                TaskStatuses.Failure));
        for (var i = 0; i < 4; i++)
            await PostAsync("/callback/new", new { i }, ("callback", Peer.Url("/timer")), ("setTimeout", "200"));
        foreach (var (id, status) in ids)
            await TaskInStatusAsync(id.ToString(), status);
        await Peer.WaitForAsync("/timer", 4);

        using var scrape = new HttpClient();
        var scheduler = await TestSystem.EventuallyAsync(() => scrape.GetStringAsync($"http://127.0.0.1:{schedulerPort}/metrics"),
            m => Sum(m, "taskhub_tasks_finished_total", "taskhub_outcome=\"success\"") == 3 && Sum(m, "taskhub_timer_lateness_seconds_count") == 4,
            TimeSpan.FromSeconds(20), "the Scheduler's counts");
        Assert.Equal(3, Sum(scheduler, "taskhub_tasks_finished_total", "taskhub_outcome=\"success\"", "taskhub_task_name=\"Works\""));
        Assert.Equal(2, Sum(scheduler, "taskhub_tasks_finished_total", "taskhub_outcome=\"failure\"", "taskhub_task_name=\"Breaks\""));
        Assert.Equal(5, Sum(scheduler, "taskhub_tasks_submitted_total"));
        Assert.Equal(3, Sum(scheduler, "taskhub_task_duration_seconds_count", "taskhub_outcome=\"success\""));
        Assert.Contains("taskhub_outbox_backlog", scheduler);
        // The Worker's own process: its runtime's meter (the exporter may answer from a scrape just before).
        var worker = await TestSystem.EventuallyAsync(() => scrape.GetStringAsync($"http://127.0.0.1:{workerPort}/metrics"),
            m => m.Contains("\n# TYPE dotnet_"), TimeSpan.FromSeconds(10), "the Worker's runtime metrics");
        Assert.Contains("service_name=\"taskhub-worker\"", worker);
        // The Api's metrics are on its public port, so they take a read key (anonymous here, as in development).
        Assert.Equal(HttpStatusCode.OK, (await Api.Http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task A_lease_that_runs_out_is_counted_when_the_task_is_acquired_again()
    {
        Api = await System.StartApiAsync();
        var queue = new PullQueue.PullQueueClient(Api.Http);
        Assert.True(await queue.PutAsync("leases", "t1"));
        Assert.Single(await queue.AcquireAsync("leases", ["t1"], promiseReplyTime: 0.2));
        await Task.Delay(400);

        Assert.Single(await queue.AcquireAsync("leases", ["t1"]));

        await TestSystem.EventuallyAsync(() => Api.Http.GetStringAsync("/metrics"),
            m => Sum(m, "taskhub_pull_queue_lease_expiries_total") == 1 && Sum(m, "taskhub_pull_queue_operations_total", "taskhub_operation=\"acquire\"") == 2,
            TimeSpan.FromSeconds(10), "the Api's pull-queue counts");
    }

    [Fact]
    public async Task The_schedulers_readiness_includes_its_timer_loop()
    {
        var port = FreePort();
        var scheduler = await System.StartSchedulerAsync(("Health:Urls", $"http://127.0.0.1:{port}"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        await TestSystem.EventuallyAsync(() => http.GetAsync("/health/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(20), "ready");
        var checks = scheduler.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var report = await checks.CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, report.Entries["timers"].Status);
    }

    [Fact]
    public async Task The_workers_queue_probe_is_healthy_only_while_a_worker_consumes_the_queue()
    {
        var port = FreePort();
        await System.StartSchedulerAsync();
        await System.StartWorkerAsync(w => w.Register("Works", () => "done"), ("Health:Urls", $"http://127.0.0.1:{port}"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health?queue=taskhub.task&timeout=5")).StatusCode);
        var started = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health?queue=nobody-reads-this&timeout=1")).StatusCode);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }

    /// <summary>The trace id of a request's W3C <c>traceparent</c> (<c>00-&lt;trace&gt;-&lt;span&gt;-&lt;flags&gt;</c>).</summary>
    static string? TraceOf(ReceivedRequest request) =>
        request.Headers.TryGetValue("traceparent", out var value) ? value.ToString().Split('-')[1] : null;

    static bool Mentions(Activity span, string text) =>
        span.DisplayName.Contains(text) || span.TagObjects.Any(t => t.Value?.ToString()?.Contains(text) == true);

    /// <summary>The sum of a metric's samples whose labels hold every one of <paramref name="labels"/>.</summary>
    static double Sum(string exposition, string metric, params string[] labels) =>
        exposition.Split('\n')
            .Where(line => line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
            .Where(line => labels.All(line.Contains))
            .Sum(line => double.Parse(Sample().Match(line).Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\}?\s([0-9.eE+-]+)(\s\d+)?$")]
    private static partial Regex Sample();

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
