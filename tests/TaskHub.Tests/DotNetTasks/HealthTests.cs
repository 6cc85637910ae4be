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
}
