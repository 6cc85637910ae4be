using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Transport;
using TaskHub.Worker;

namespace TaskHub.Tests.Unit;

public sealed class OptionsValidationTests
{
    static readonly Dictionary<string, string?> Valid = new()
    {
        ["AsyncTask:Broker"] = "amqp://guest:guest@127.0.0.1:5672/",
        ["AsyncTask:ResultBackend"] = "Host=127.0.0.1;Username=u;Password=p;Database=d",
    };

    static Task<string> StartFailure(Dictionary<string, string?> settings, string environment = "Production") =>
        StartFailure(settings, builder =>
        {
            builder.Services.AddAsyncTaskOptions(builder.Configuration);
            builder.Services.AddTaskHubOutbound(builder.Configuration);
        }, environment);

    static async Task<string> StartFailure(Dictionary<string, string?> settings, Action<HostApplicationBuilder> configure, string environment = "Production")
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment, Args = [] });
        builder.Configuration.AddInMemoryCollection(settings);
        configure(builder);
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        return error.Message;
    }

    [Theory]
    [InlineData("AsyncTask:Concurrency", "0")]
    [InlineData("AsyncTask:Broker", "redis://redis:6379/8")]
    [InlineData("AsyncTask:ResultBackend", "redis://redis:6379/8")]
    [InlineData("AsyncTask:ResultsExpireIn", "0")]
    [InlineData("AsyncTask:DefaultQueue", "two words")]
    [InlineData("AsyncTask:Attempts", "0")]
    [InlineData("AsyncTask:AttemptAfterMs", "-1")]
    [InlineData("AsyncTask:Tasks:SomeAsyncTask:TimeoutSeconds", "0")]
    [InlineData("AsyncTask:Tasks:SomeAsyncTask:RateLimit", "fast")]
    [InlineData("Outbound:RateLimits:api.example.com", "10/day")]
    public async Task A_bad_value_stops_the_host_naming_its_key(string key, string value)
    {
        var settings = new Dictionary<string, string?>(Valid) { [key] = value, ["Outbound:SigningKey"] = new string('k', 40) };
        Assert.Contains(key, await StartFailure(settings));
    }

    /// <summary>The Worker's own section, as the Worker registers it.</summary>
    [Theory]
    [InlineData("Worker:StopGrace", "00:00:30")]
    [InlineData("Worker:HeartbeatInterval", "00:10:00")]
    public async Task A_bad_worker_value_stops_the_worker_naming_its_key(string key, string value)
    {
        var settings = new Dictionary<string, string?>(Valid) { [key] = value, ["Outbound:SigningKey"] = new string('k', 40) };
        Assert.Contains(key, await StartFailure(settings, builder => builder.AddTaskHubWorker()));
    }

    [Fact]
    public async Task Production_refuses_to_start_without_a_signing_key_or_with_the_development_one()
    {
        Assert.Contains("Outbound:SigningKey", await StartFailure(new(Valid)));
        var withDevKey = new Dictionary<string, string?>(Valid) { ["Outbound:SigningKey"] = OutboundOptions.DevelopmentSigningKey };
        Assert.Contains("Outbound:SigningKey", await StartFailure(withDevKey));
    }

    [Fact]
    public void A_groups_bad_rate_limit_is_refused_naming_its_key()
    {
        var options = new TaskHub.Scheduler.Groups.GroupOptions { RateLimits = { ["g0"] = "0/s", ["g1"] = "20/s" } };
        var result = new TaskHub.Scheduler.Groups.GroupOptionsValidator().Validate(null, options);
        Assert.Equal(["Groups:RateLimits:g0 must be a count per s, min or h, such as 20/s or 600/min (was '0/s')."], result.Failures);
    }

    [Theory]
    [InlineData("20/s", 20, 50)]
    [InlineData("600/min", 600, 100)]
    [InlineData(" 36/h ", 36, 100_000)]
    public void A_rate_limit_reads_as_evenly_spaced_starts(string text, int count, int intervalMs)
    {
        Assert.True(RateLimit.TryParse(text, out var limit));
        Assert.Equal((count, TimeSpan.FromMilliseconds(intervalMs)), (limit.Count, limit.Interval));
    }

    [Fact]
    public void Valid_settings_pass()
    {
        var options = new AsyncTaskOptions { Broker = Valid["AsyncTask:Broker"]!, ResultBackend = Valid["AsyncTask:ResultBackend"]! };
        Assert.True(new AsyncTaskOptionsValidator().Validate(null, options).Succeeded);
    }
}
