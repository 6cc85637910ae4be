using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using TaskHub.Api;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Transport;
using TaskHub.Scheduler;
using TaskHub.Testing;
using TaskHub.Worker;

namespace TaskHub.Tests.Infrastructure;

/// <summary>
/// One test class's TaskHub: its own RabbitMQ vhost and its own database on the run's real
/// broker and PostgreSQL, with Scheduler, Worker and Api hosts started in-process as the test
/// asks (any number of each). Everything is torn down with the class.
/// </summary>
public sealed class TestSystem : IAsyncLifetime
{
    readonly List<IHost> _hosts = [];
    readonly List<ServiceProcess> _processes = [];

    Sandbox _sandbox = null!;

    public TestStack Stack { get; private set; } = null!;
    public string Broker => _sandbox.Broker.ToString();
    public string Database => _sandbox.Database;
    public string VirtualHost => _sandbox.Name;

    public async Task InitializeAsync()
    {
        Stack = await TestStack.GetAsync();
        _sandbox = await Stack.CreateSandboxAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        foreach (var host in Enumerable.Reverse(_hosts))
            await StopAsync(host);
        await Stack.DropSandboxAsync(_sandbox);
    }

    /// <summary>The key every host of a test system signs outbound requests with.</summary>
    public const string SigningKey = "test-signing-key-0123456789abcdef0123";

    /// <summary>The key confirm URLs' tokens are made with.</summary>
    public const string ConfirmKey = "test-confirm-key-0123456789abcdef01234567";

    /// <summary>The key every host of a test system signs its task messages with.</summary>
    public const string BusKey = "test-bus-key-0123456789abcdef0123456789";

    /// <summary>The settings every host of this system shares; a test's own settings win.</summary>
    public Dictionary<string, string?> Settings(params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AsyncTask:Broker"] = Broker,
            ["AsyncTask:ResultBackend"] = Database,
            ["AsyncTask:Concurrency"] = "8",
            ["Scheduler:SweepIntervalSeconds"] = "1",
            ["Worker:Samples"] = "false",
            ["Outbound:AllowLoopback"] = "true",
            ["Outbound:SigningKey"] = SigningKey,
            ["Bus:SigningKeys:test"] = BusKey,
            ["Bus:SignWith"] = "test",
            // As the development profile: no key needed (the access tests turn this off), no rate limit.
            ["Auth:AllowAnonymous"] = "true",
            ["Auth:ConfirmKey"] = ConfirmKey,
            ["Auth:RateLimit:PerSecond"] = "0",
            // In-process hosts share the test runner's process: a stuck send path says so on /health/live, never exits it.
            ["Health:ExitWhenStuck"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:MassTransit"] = "Warning",
        };
        foreach (var (key, value) in overrides)
            settings[key] = value;
        return settings;
    }

    public Task<IHost> StartSchedulerAsync(params (string, string?)[] settings) =>
        StartHostAsync(b => b.AddTaskHubScheduler(), settings);

    public Task<IHost> StartWorkerAsync(Action<TaskHubWorkerBuilder> configure, params (string, string?)[] settings) =>
        StartHostAsync(b => b.AddTaskHubWorkerHost(configure), settings);

    /// <summary>A .NET producer: a bus with <see cref="ITaskClient"/> and nothing else.</summary>
    public async Task<ITaskClient> StartClientAsync()
    {
        var host = await StartHostAsync(b => b.Services.AddAsyncTaskOptions(b.Configuration)
            .Services.AddTaskHubBus(x => x.AddTaskClient()), []);
        return host.Services.GetRequiredService<ITaskClient>();
    }

    /// <summary>The repository: the folder above the test binaries that holds Solution.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Solution.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds Solution.sln.");
    }

    /// <summary>
    /// The built src/<paramref name="project"/> as its own process (as in production), with this system's settings
    /// as environment variables; supervised as run.sh does (<see cref="ServiceProcess"/>). Stopped with the test.
    /// </summary>
    public ServiceProcess StartProcess(string project, params (string, string?)[] settings)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var dll = Path.Combine(RepoRoot, "src", project, "bin", configuration, "net10.0", $"TaskHub.{project}.dll");
        var environment = Settings([("DOTNET_ENVIRONMENT", "Development"), ("ASPNETCORE_ENVIRONMENT", "Development"), .. settings])
            .Select(s => KeyValuePair.Create(s.Key.Replace(":", "__"), s.Value ?? ""));
        var log = Path.Combine(Path.GetTempPath(), $"taskhub-{VirtualHost}-{project.ToLowerInvariant()}-{_processes.Count}.log");
        var process = ServiceProcess.Start(project.ToLowerInvariant(), dll, environment, log);
        _processes.Add(process);
        return process;
    }

    /// <summary>The Api on Kestrel on a free loopback port, and a client for it.</summary>
    public Task<ApiHost> StartApiAsync(params (string, string?)[] settings) => StartApiAsync("Development", settings);

    /// <summary>The Api in another profile than development (which the other hosts keep).</summary>
    public async Task<ApiHost> StartApiAsync(string environment, params (string, string?)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment, Args = [] });
        builder.Configuration.AddInMemoryCollection(Settings(settings));
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddTaskHubApi();
        var app = builder.Build();
        app.MapTaskHubApi();
        await app.StartAsync();
        _hosts.Add(app);
        var address = new Uri(app.Urls.First());
        return new ApiHost(app, new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) });
    }

    public async Task<IHost> StartHostAsync(Action<HostApplicationBuilder> configure, (string, string?)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", Args = [] });
        builder.Configuration.AddInMemoryCollection(Settings(settings));
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        configure(builder);
        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    public async Task StopAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await host.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
        (host as IDisposable)?.Dispose();
        _hosts.Remove(host);
    }

    /// <summary>The single number <paramref name="sql"/> (a count) answers in the test's database.</summary>
    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs <paramref name="sql"/> ($1, $2, … bound to <paramref name="parameters"/>) in the test's database; the rows it changed.</summary>
    public async Task<int> ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.AddWithValue(parameter);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>A task's row as the Scheduler stored it, or null.</summary>
    public async Task<TaskRow?> ReadTaskAsync(Guid id)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT current_state, attempts, current, total, message, response::text, error FROM tasks WHERE id = $1", connection);
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
            return null;
        return new TaskRow(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3),
            reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.IsDBNull(6) ? null : reader.GetString(6));
    }

    /// <summary>A workflow's row as the Scheduler stored it, or null.</summary>
    public async Task<WorkflowRow?> ReadWorkflowAsync(Guid id)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_state, result::text, error FROM workflows WHERE id = $1", connection);
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
            return null;
        return new WorkflowRow(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    /// <summary>Waits until the workflow has left Running (succeeded, failed or been cancelled).</summary>
    public Task<WorkflowRow?> WaitForWorkflowAsync(Guid id, TimeSpan? timeout = null) =>
        EventuallyAsync(() => ReadWorkflowAsync(id), r => r is not null && r.State != "Running", timeout ?? TimeSpan.FromSeconds(60), $"workflow {id} to finish");

    /// <summary>Polls until <paramref name="condition"/> holds, or fails with what it last saw.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        T last;
        while (true)
        {
            last = await probe();
            if (condition(last))
                return last;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Timed out waiting for {what ?? "a condition"}; last seen: {last}");
            await Task.Delay(50);
        }
    }

    public Task<TaskRow?> WaitForStateAsync(Guid id, string state, TimeSpan? timeout = null) =>
        EventuallyAsync(() => ReadTaskAsync(id), r => r?.State == state, timeout, $"task {id} to be {state}");

    /// <summary>Publishes straight onto this system's bus, as a Worker or producer would.</summary>
    public IBus Bus(IHost host) => host.Services.GetRequiredService<IBus>();

    /// <summary>Marks a send as the outbox relay marks a message it sends again (<see cref="TaskHubHeaders.Resent"/>).</summary>
    public static readonly IPipe<SendContext> Resent = Pipe.Execute<SendContext>(c => c.Headers.Set(TaskHubHeaders.Resent, "true"));

    /// <summary>Empties one of this system's queues, as a broker that lost its messages in a crash.</summary>
    public async Task PurgeQueueAsync(string queue) =>
        (await Stack.ManagementClient.DeleteAsync($"api/queues/{VirtualHost}/{queue}/contents")).EnsureSuccessStatusCode();
}

public sealed record TaskRow(string State, int Attempts, int Current, int Total, string? Message, string? Response, string? Error);

public sealed record WorkflowRow(string State, string? Result, string? Error);

public sealed record ApiHost(WebApplication App, HttpClient Http);
