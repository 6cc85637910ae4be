using System.Diagnostics;
using System.Net.Sockets;
using System.Net;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Transport;
using TaskHub.Testing;

namespace TaskHub.FaultTests.Infrastructure;

/// <summary>
/// One whole TaskHub for one test: a vhost and an empty database named after it, a Scheduler
/// (which migrates the database), a Worker and an Api, each the Release build of src/ run as its
/// own process, and a .NET producer (<see cref="ITaskClient"/> on MassTransit) in the test process.
/// </summary>
public sealed class TaskHubSystem : IAsyncDisposable
{
    /// <summary>The Worker's queues: <c>AsyncTask:DefaultQueue</c> and <c>AsyncTask:HttpQueue</c>.</summary>
    const string TaskQueue = "taskhub.task";
    const string HttpQueue = "taskhub.http";

    readonly PrivateStack _stack;
    readonly string _logDirectory;
    readonly List<ServiceProcess> _processes = [];
    IHost? _client;

    TaskHubSystem(PrivateStack stack, string name, string logDirectory)
    {
        _stack = stack;
        Name = name;
        _logDirectory = logDirectory;
    }

    public string Name { get; }
    public string Broker { get; private set; } = "";
    public string Database { get; private set; } = "";
    public Uri ApiAddress { get; private set; } = null!;
    public ITaskClient Client => _client!.Services.GetRequiredService<ITaskClient>();
    public IReadOnlyList<ServiceProcess> Processes => _processes;
    public ServiceProcess Scheduler => _processes.Last(p => p.Name.StartsWith("scheduler", StringComparison.Ordinal));
    public ServiceProcess Worker => _processes.Last(p => p.Name.StartsWith("worker", StringComparison.Ordinal));

    public static async Task<TaskHubSystem> StartAsync(PrivateStack stack, string name, string logDirectory)
    {
        var system = new TaskHubSystem(stack, name, logDirectory);
        try
        {
            await system.StartCoreAsync();
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    async Task StartCoreAsync()
    {
        Directory.CreateDirectory(_logDirectory);
        Broker = (await _stack.CreateVirtualHostAsync(Name)).ToString();
        await _stack.CreateDatabaseAsync(Name);
        Database = _stack.WithDatabase(Name);
        await StartSchedulerAsync().Ready;
        await StartWorkerAsync().Ready;
        ApiAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var api = Start("Api", new Dictionary<string, string> { ["ASPNETCORE_URLS"] = ApiAddress.ToString().TrimEnd('/') });
        using var http = new HttpClient { BaseAddress = ApiAddress, Timeout = TimeSpan.FromSeconds(5) };
        await api.WaitUntilReadyAsync("answer 200 on /health", async () =>
        {
            try { return (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        });
        await StartClientAsync();
    }

    /// <summary>The .NET producer, configured as the README's .NET section shows.</summary>
    async Task StartClientAsync()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            // The development profile's documented bus key, as the services it sends to.
            ["Bus:SigningKeys:dev"] = BusSigningOptions.DevelopmentKey,
            ["Bus:SignWith"] = "dev",
            ["AsyncTask:Broker"] = Broker,
            ["AsyncTask:ResultBackend"] = Database,
        });
        builder.Services.AddAsyncTaskOptions(builder.Configuration);
        builder.Services.AddTaskHubBus(x => x.AddTaskClient());
        _client = builder.Build();
        await _client.StartAsync();
    }

    /// <summary>A (new) Scheduler; <c>Ready</c> completes when it consumes <c>taskhub.task-submit</c>.</summary>
    /// <summary>The single number <paramref name="sql"/> (a count) answers in this system's database.</summary>
    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public (ServiceProcess Process, Task Ready) StartSchedulerAsync()
    {
        var p = Start("Scheduler");
        return (p, WaitForConsumersAsync(p, TaskHubBus.TaskSubmitQueue));
    }

    /// <summary>A (new) Worker; <c>Ready</c> completes when it consumes <c>taskhub.task</c> and <c>taskhub.http</c>.</summary>
    public (ServiceProcess Process, Task Ready) StartWorkerAsync()
    {
        var p = Start("Worker");
        return (p, WaitForConsumersAsync(p, TaskQueue, HttpQueue));
    }

    /// <summary>kill -9 of the Scheduler; once the broker shows its consumer gone, a new one, waited for until it consumes. Returns the timings.</summary>
    public Task<string> KillAndRestartSchedulerAsync(Func<Func<Task>, Task>? killAt = null) =>
        KillAndRestartAsync(Scheduler, killAt, () => StartSchedulerAsync(), TaskHubBus.TaskSubmitQueue);

    /// <summary>As <see cref="KillAndRestartSchedulerAsync"/>, for the Worker; <paramref name="killAt"/> chooses the moment of the kill.</summary>
    public Task<string> KillAndRestartWorkerAsync(Func<Func<Task>, Task>? killAt = null) =>
        KillAndRestartAsync(Worker, killAt, () => StartWorkerAsync(), TaskQueue, HttpQueue);

    async Task<string> KillAndRestartAsync(ServiceProcess old, Func<Func<Task>, Task>? killAt,
        Func<(ServiceProcess Process, Task Ready)> start, params string[] queues)
    {
        var clock = Stopwatch.StartNew();
        await (killAt ?? (kill => kill()))(old.KillAsync);
        var killed = clock.Elapsed;
        await WaitForNoConsumersAsync(queues);
        var gone = clock.Elapsed;
        var (process, ready) = start();
        await ready;
        return $"{old.Name} (pid {old.Pid}) killed at +{killed.TotalSeconds:0.0}s, its consumers gone at +{gone.TotalSeconds:0.0}s, " +
            $"{process.Name} consuming at +{clock.Elapsed.TotalSeconds:0.0}s";
    }

    /// <summary>
    /// The management API's queue figures are refreshed every ~5 s: without this, the dead process's
    /// consumer would count as the new one's. Bounded: a count that stays up does not hold the test.
    /// </summary>
    async Task WaitForNoConsumersAsync(params string[] queues)
    {
        var waited = Stopwatch.StartNew();
        foreach (var queue in queues)
            while (waited.Elapsed < TimeSpan.FromSeconds(8) && await _stack.ConsumersAsync(Name, queue) != 0)
                await Task.Delay(200);
    }

    async Task WaitForConsumersAsync(ServiceProcess process, params string[] queues)
    {
        foreach (var queue in queues)
            await process.WaitUntilReadyAsync($"consume {queue}", async () => await _stack.ConsumersAsync(Name, queue) >= 1);
    }

    ServiceProcess Start(string project, IReadOnlyDictionary<string, string>? extra = null)
    {
        var dll = Path.Combine(PrivateStack.RepoRoot, "src", project, "bin", "Release", "net10.0", $"TaskHub.{project}.dll");
        var env = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development", // the development profile: loopback callees allowed, the documented signing key
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["AsyncTask__Broker"] = Broker,
            ["AsyncTask__ResultBackend"] = Database,
            ["Worker__Samples"] = "true",
            ["Scheduler__SweepIntervalSeconds"] = "1",
            ["Outbound__AllowLoopback"] = "true",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft"] = "Warning",
            ["Logging__LogLevel__MassTransit"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            env[key] = value;
        var n = _processes.Count(p => p.Name.StartsWith(project.ToLowerInvariant(), StringComparison.Ordinal)) + 1;
        var name = $"{project.ToLowerInvariant()}{n}";
        var process = ServiceProcess.Start(name, dll, env, Path.Combine(_logDirectory, $"{Name}-{name}.log"));
        _processes.Add(process);
        return process;
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Processes that died without the test killing them, with their logs' tails.</summary>
    public IEnumerable<string> UnexpectedExits() =>
        _processes.Where(p => p.HasExited && !p.Killed).Select(p => $"{p.Name} exited; its log {p.Log} ends:\n{p.LogTail()}");

    /// <summary>Each start again of a process that exited with 75 (its send path stuck), as its supervisor would.</summary>
    public IEnumerable<string> Restarts() => _processes.SelectMany(p => p.Restarts.Select(r => $"{p.Name} {r}"));

    public string LogTails(int lines = 25) =>
        string.Join("\n", _processes.Select(p => $"----- {p.Name} (pid {p.Pid}{(p.HasExited ? ", exited" : "")}) {p.Log} -----\n{p.LogTail(lines)}"));

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try { await _client.StopAsync(stop.Token); } catch (OperationCanceledException) { }
            _client.Dispose();
        }
        foreach (var p in Enumerable.Reverse(_processes))
            await p.DisposeAsync();
        try { await _stack.DropDatabaseAsync(Name); } catch (Exception) { /* a test that broke the database must still report */ }
        await _stack.DeleteVirtualHostAsync(Name);
    }
}
