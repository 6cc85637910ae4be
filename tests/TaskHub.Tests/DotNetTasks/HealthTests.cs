using System.Net;
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

    static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
