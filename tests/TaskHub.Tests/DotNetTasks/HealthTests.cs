using System.Net;
using System.Net.Http.Json;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.DotNetTasks;

public sealed class HealthTests : SystemTest
{
    [Fact]
    public async Task Health_is_200_when_broker_and_database_answer()
    {
        var api = await System.StartApiAsync();
        var response = await TestSystem.EventuallyAsync(() => api.Http.GetAsync("/health"), r => r.StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20), "/health to be 200");
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_is_503_when_the_database_is_unreachable()
    {
        var api = await System.StartApiAsync(("AsyncTask:ResultBackend", "Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=2"));
        var response = await api.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("Unhealthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_Scheduler_and_the_Worker_serve_liveness_and_readiness_on_their_health_port()
    {
        var schedulerUrl = $"http://127.0.0.1:{FreePort()}";
        var workerUrl = $"http://127.0.0.1:{FreePort()}";
        await System.StartSchedulerAsync(("Health:Urls", schedulerUrl));
        await System.StartWorkerAsync(_ => { }, ("Health:Urls", workerUrl));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var url in new[] { schedulerUrl, workerUrl })
        {
            var ready = await TestSystem.EventuallyAsync(() => http.GetAsync($"{url}/health/ready"), r => r.StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(20), $"{url}/health/ready to be 200");
            Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{url}/health/live")).StatusCode);
        }
    }

    [Fact]
    public async Task A_Worker_whose_database_is_unreachable_is_alive_but_not_ready()
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        await System.StartWorkerAsync(_ => { }, ("Health:Urls", url),
            ("AsyncTask:ResultBackend", "Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=2"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{url}/health/live")).StatusCode);
        var ready = await http.GetAsync($"{url}/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
    }

    /// <summary>A callee nobody calls: the sends of these tests are cut off before any task exists.</summary>
    const string NewTask = "/task/new?callee=http%3A%2F%2F127.0.0.1%3A9%2Fwork";

    /// <summary>
    /// An Api whose every send is cut off (Api:BrokerTimeout 0) with the broker up behaves as one whose send path stayed
    /// stuck after a broker restart: each request is a 503, and once the connection has been up for Health:StuckSendsAfter
    /// and three sends in a row timed out, it is no longer live (nor ready).
    /// </summary>
    [Fact]
    public async Task An_Api_whose_sends_keep_timing_out_with_the_broker_up_is_not_live()
    {
        var api = await System.StartApiAsync(("Api:BrokerTimeout", "00:00:00"), ("Health:StuckSendsAfter", "00:00:01"));
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync("/health/live")).StatusCode);

        var live = await TestSystem.EventuallyAsync(async () =>
        {
            var submit = await api.Http.PostAsync(NewTask, JsonContent.Create(new { }));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, submit.StatusCode);
            return await api.Http.GetAsync("/health/live");
        }, r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "/health/live to be 503");

        Assert.Equal("Unhealthy", await live.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await api.Http.GetAsync("/health/ready")).StatusCode);
    }

    /// <summary>
    /// The same Api as a process of its own: it exits with 75 by itself, and the supervisor (as run.sh and docker-compose's
    /// restart policy) starts it again; the new process is live, and what the stuck one held is nothing (no 2xx was given).
    /// </summary>
    [Fact]
    public async Task A_stuck_Api_process_exits_with_75_and_its_supervisor_starts_it_again()
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        var api = System.StartProcess("Api", ("ASPNETCORE_URLS", url), ("Api:BrokerTimeout", "00:00:00"), ("Health:StuckSendsAfter", "00:00:01"),
            ("Health:ExitWhenStuck", "true"));
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
        await api.WaitUntilReadyAsync("answer 200 on /health/live", async () =>
        {
            try { return (await http.GetAsync("/health/live")).StatusCode == HttpStatusCode.OK; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        });
        var stuck = api.Pid;

        await TestSystem.EventuallyAsync(async () =>
        {
            try { await http.PostAsync(NewTask, JsonContent.Create(new { })); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { } // the process went while answering
            return api.Restarts.Count;
        }, restarts => restarts > 0, TimeSpan.FromSeconds(30), "the Api to exit with 75 and be started again");

        Assert.NotEqual(stuck, api.Pid);
        Assert.Contains("exited 75", Assert.Single(api.Restarts));
        Assert.Contains("This process is stuck: sends to request POST /task/new keep timing out", File.ReadAllText(api.Log));
        var live = await TestSystem.EventuallyAsync(async () =>
        {
            try { return (await http.GetAsync("/health/live")).StatusCode; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return HttpStatusCode.ServiceUnavailable; }
        }, code => code == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the new Api to be live");
        Assert.Equal(HttpStatusCode.OK, live);
        Assert.Equal(0L, await System.CountAsync("SELECT count(*) FROM tasks"));
    }

    static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
