using Npgsql;
using TaskHub.Contracts.Transport;
using TaskHub.Testing;

namespace TaskHub.Bench;

/// <summary>
/// A Scheduler and a Worker, each its own process, on a fresh vhost and a fresh database named
/// <c>name</c> (the Scheduler migrates it as in production), started in that order and each
/// waited for until it consumes its queue. <see cref="TaskHubSystem"/> adds the .NET client,
/// <see cref="ApiSystem"/> an Api process. Dropped with the vhost unless <c>--keep</c>.
/// </summary>
public sealed class BenchServices : IAsyncDisposable
{
    /// <summary>The Worker's queue: <c>AsyncTask:DefaultQueue</c> of the services' appsettings.</summary>
    const string TaskQueue = "taskhub.task";

    readonly Stack _stack;
    readonly BenchOptions _options;
    readonly string _logDirectory;
    readonly IReadOnlyDictionary<string, string> _environment;
    readonly List<ServiceProcess> _processes = [];

    BenchServices(Stack stack, BenchOptions options, string name, string logDirectory, IReadOnlyDictionary<string, string> environment)
    {
        _stack = stack;
        _options = options;
        Name = name;
        _logDirectory = logDirectory;
        _environment = environment;
    }

    public string Name { get; }
    public string Broker { get; private set; } = "";
    /// <summary>The services' connection string (with <c>--db-extra</c>).</summary>
    public string Database { get; private set; } = "";
    /// <summary>A small pool of the bench's own on the run's database, for counting and latency queries.</summary>
    public NpgsqlDataSource Db { get; private set; } = null!;
    public IReadOnlyList<ServiceProcess> Processes => _processes;
    public ServiceProcess Scheduler => _processes.First(p => p.Name == "scheduler");
    public ServiceProcess Worker => _processes.First(p => p.Name == "worker");

    /// <param name="environment">Settings every service of this set gets beyond the common ones (the bench's --env still wins).</param>
    public static async Task<BenchServices> StartAsync(Stack stack, BenchOptions options, string name, string logDirectory,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var services = new BenchServices(stack, options, name, logDirectory, environment);
        try
        {
            await services.StartCoreAsync(cancellationToken);
            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        Broker = (await _stack.CreateVirtualHostAsync(Name)).ToString();
        await _stack.CreateDatabaseAsync(Name);
        Database = _stack.WithDatabase(Name);
        if (!string.IsNullOrWhiteSpace(_options.DbExtra))
            Database = Database.TrimEnd(';') + ";" + _options.DbExtra;
        Db = NpgsqlDataSource.Create(_stack.WithDatabase(Name, maxPoolSize: 4));
        Directory.CreateDirectory(_logDirectory);
        // The first of each is Scheduler and Worker (the CPU and RSS columns are theirs); more for the scale-out curve.
        for (var i = 1; i <= _options.Schedulers; i++)
            await WaitForConsumerAsync(TaskHubBus.TaskSubmitQueue, Start("Scheduler"), i, cancellationToken);
        for (var i = 1; i <= _options.Workers; i++)
            await WaitForConsumerAsync(TaskQueue, Start("Worker"), i, cancellationToken);
    }

    /// <summary>Starts <c>src/{project}</c>'s Release build as a process of this set, logging to <c>{name}-{project}.log</c>.</summary>
    public ServiceProcess Start(string project, IReadOnlyDictionary<string, string>? extra = null)
    {
        var target = project.ToLowerInvariant();
        // A second Worker (the scale-out curve) is worker2, with a log of its own.
        if (_processes.Count(p => p.Name.StartsWith(target, StringComparison.Ordinal)) is > 0 and var others)
            target += others + 1;
        var env = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development", // as run.sh: the development profile's outbound settings
            ["AsyncTask__Broker"] = Broker,
            ["AsyncTask__ResultBackend"] = Database,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft"] = "Warning",
            ["Logging__LogLevel__MassTransit"] = "Warning",
        };
        foreach (var (key, value) in _environment.Concat(extra ?? new Dictionary<string, string>()).Concat(_options.EnvFor(project.ToLowerInvariant())))
            env[key] = value;
        var dll = Path.Combine(_options.Root, "src", project, "bin", "Release", "net10.0", $"TaskHub.{project}.dll");
        var process = ServiceProcess.Start(target, dll, env, Path.Combine(_logDirectory, $"{Name}-{target}.log"));
        _processes.Add(process);
        return process;
    }

    Task WaitForConsumerAsync(string queue, ServiceProcess process, CancellationToken cancellationToken) =>
        WaitForConsumerAsync(queue, process, 1, cancellationToken);

    Task WaitForConsumerAsync(string queue, ServiceProcess process, int consumers, CancellationToken cancellationToken) =>
        process.WaitUntilReadyAsync($"consume {queue}", async () => await _stack.ConsumersAsync(Name, queue) >= consumers, cancellationToken);

    public void ThrowIfExited()
    {
        foreach (var p in _processes)
            if (p.HasExited)
                throw new InvalidOperationException($"{p.Name} exited during the run; its log {p.Log} ends:\n{p.LogTail()}");
    }

    /// <summary>Messages published and delivered in this set's vhost so far.</summary>
    public Task<(long Published, long Delivered)> MessageCountsAsync() => _stack.MessageCountsAsync(Name);

    /// <summary>The run database's statistics.</summary>
    public Task<DbCounters> DbCountersAsync() => _stack.DbCountersAsync(Name);

    /// <summary>Stops the processes, the last started first.</summary>
    public async Task StopAsync()
    {
        foreach (var p in Enumerable.Reverse(_processes))
            await p.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in Enumerable.Reverse(_processes))
            await p.DisposeAsync();
        if (Db is not null) await Db.DisposeAsync();
        if (!_options.Keep)
        {
            await _stack.DropDatabaseAsync(Name);
            await _stack.DeleteVirtualHostAsync(Name);
        }
    }
}
