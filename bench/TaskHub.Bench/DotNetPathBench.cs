using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

namespace TaskHub.Bench;

/// <summary>
/// (2) The TaskHub .NET path: <see cref="ITaskClient"/> in this process → RabbitMQ → Scheduler
/// (task saga in PostgreSQL, its own process) → Worker ("Noop" sample handler, its own process) → SUCCESS.
/// A fresh vhost and a fresh database per system; the Scheduler migrates the database as in production.
/// Completion is read from the tasks table (count of Succeeded), latency from its created_at/finished_at.
/// </summary>
public sealed class TaskHubSystem : IAsyncDisposable
{
    const string SagaQueue = "taskhub.task-state";
    const string TaskQueue = "taskhub.task";

    readonly Stack _stack;
    readonly BenchOptions _options;
    readonly string _name;
    readonly List<ServiceProcess> _processes = [];
    IHost? _client;
    NpgsqlDataSource? _db;
    bool _stopped;

    TaskHubSystem(Stack stack, BenchOptions options, string name)
    {
        _stack = stack;
        _options = options;
        _name = name;
    }

    public ServiceProcess Scheduler => _processes[0];
    public ServiceProcess Worker => _processes[1];
    public ITaskClient Client => _client!.Services.GetRequiredService<ITaskClient>();
    public int Submitted { get; private set; }
    public TimeSpan StartupTime { get; private set; }

    public static async Task<TaskHubSystem> StartAsync(Stack stack, BenchOptions options, string name, string logDirectory, CancellationToken cancellationToken)
    {
        var system = new TaskHubSystem(stack, options, name);
        try
        {
            await system.StartCoreAsync(logDirectory, cancellationToken);
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    async Task StartCoreAsync(string logDirectory, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var broker = (await _stack.CreateVirtualHostAsync(_name)).ToString();
        await _stack.CreateDatabaseAsync(_name);
        var database = _stack.WithDatabase(_name);
        if (!string.IsNullOrWhiteSpace(_options.DbExtra))
            database = database.TrimEnd(';') + ";" + _options.DbExtra;
        _db = NpgsqlDataSource.Create(_stack.WithDatabase(_name, maxPoolSize: 4));

        Dictionary<string, string> Environment(string target)
        {
            var env = new Dictionary<string, string>
            {
                ["DOTNET_ENVIRONMENT"] = "Development", // as run.sh: the development profile's outbound settings
                ["AsyncTask__Broker"] = broker,
                ["AsyncTask__ResultBackend"] = database,
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__Microsoft"] = "Warning",
                ["Logging__LogLevel__MassTransit"] = "Warning",
            };
            foreach (var (key, value) in _options.EnvFor(target))
                env[key] = value;
            return env;
        }

        string Dll(string project) => Path.Combine(_options.Root, "src", project, "bin", "Release", "net10.0", $"TaskHub.{project}.dll");

        Directory.CreateDirectory(logDirectory);
        _processes.Add(ServiceProcess.Start("scheduler", Dll("Scheduler"), Environment("scheduler"), Path.Combine(logDirectory, $"{_name}-scheduler.log")));
        await WaitForConsumerAsync(SagaQueue, Scheduler, cancellationToken);
        _processes.Add(ServiceProcess.Start("worker", Dll("Worker"), Environment("worker"), Path.Combine(logDirectory, $"{_name}-worker.log")));
        await WaitForConsumerAsync(TaskQueue, Worker, cancellationToken);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AsyncTask:Broker"] = broker,
            ["AsyncTask:ResultBackend"] = database,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddAsyncTaskOptions(builder.Configuration);
        builder.Services.AddTaskHubBus(x => x.AddTaskClient());
        _client = builder.Build();
        await _client.StartAsync(cancellationToken);
        StartupTime = clock.Elapsed;
    }

    async Task WaitForConsumerAsync(string queue, ServiceProcess process, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (await _stack.ConsumersAsync(_name, queue) < 1)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{process.Name} exited during start-up; its log {process.Log} ends:\n{process.LogTail()}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(120))
                throw new TimeoutException($"{process.Name} did not consume {queue} within 120 s; its log {process.Log} ends:\n{process.LogTail()}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>
    /// Submits <paramref name="count"/> no-op tasks, as fast as the client's confirms allow
    /// (<paramref name="rate"/> null) or paced at <paramref name="rate"/> per second, and waits until all are SUCCESS.
    /// </summary>
    public async Task<PathResult> RunAsync(string label, int count, double? rate, bool measure, CancellationToken cancellationToken)
    {
        var from = DateTimeOffset.UtcNow;
        var cpu = new CpuMeter(Scheduler.Pid, Worker.Pid);
        await using var rss = new RssSampler(Scheduler.Pid, Worker.Pid);
        var clock = Stopwatch.StartNew();
        var submitted = 0;
        var succeeded = 0;
        var failed = 0;
        var client = Client;
        var signature = TaskSignature.Create("Noop");

        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var submitting = Task.Run(async () =>
        {
            var window = new SemaphoreSlim(_options.PublishWindow);
            var pending = new List<Task>(count);
            var paceClock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                if (rate is { } perSecond)
                {
                    var due = TimeSpan.FromSeconds(i / perSecond);
                    var wait = due - paceClock.Elapsed;
                    if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, abort.Token);
                }
                await window.WaitAsync(abort.Token);
                pending.Add(SendOne());
            }
            await Task.WhenAll(pending);

            async Task SendOne()
            {
                try
                {
                    await client.SendTaskAsync(signature, null, abort.Token);
                    Interlocked.Increment(ref submitted);
                }
                finally
                {
                    window.Release();
                }
            }
        }, abort.Token);

        await using (measure ? new Progress(label, count, () => (submitted, succeeded)) : null)
        {
            while (true)
            {
                (succeeded, failed) = await CountAsync(from, abort.Token);
                if (succeeded + failed >= count && submitting.IsCompleted) break;
                if (submitting.IsFaulted) await submitting;
                foreach (var p in _processes)
                    if (p.HasExited)
                        throw new InvalidOperationException($"{p.Name} exited during the run; its log {p.Log} ends:\n{p.LogTail()}");
                if (clock.Elapsed > TimeSpan.FromMinutes(8))
                    throw new TimeoutException($"{label}: only {succeeded} of {count} tasks succeeded ({failed} failed) within 8 minutes");
                await Task.Delay(succeeded >= count * 0.95 ? 20 : 250, abort.Token);
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        await submitting;
        var used = cpu.Stop();
        var peakRss = await rss.StopAsync();
        Submitted += count;
        var latency = await Latency.QueryAsync(_db!, "tasks", "current_state", "Succeeded", from);
        return new PathResult(label, count, seconds, latency, used, peakRss[0], peakRss[1],
            failed > 0 ? $"{failed} tasks FAILED" : null);
    }

    async Task<(int Succeeded, int Failed)> CountAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        await using var cmd = _db!.CreateCommand("""
            SELECT count(*) FILTER (WHERE current_state = 'Succeeded'), count(*) FILTER (WHERE current_state = 'Failed')
            FROM tasks WHERE created_at >= $1
            """);
        cmd.Parameters.AddWithValue(from);
        try
        {
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            return ((int)r.GetInt64(0), (int)r.GetInt64(1));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return (0, 0);
        }
    }

    /// <summary>Stops the client and both services; then what one task cost the broker and the database.</summary>
    public async Task<SystemCounters> StopAsync()
    {
        _stopped = true;
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
            _client = null;
        }
        var hwm = _processes.Select(p => p.Memory().Peak).ToArray();
        foreach (var p in Enumerable.Reverse(_processes))
            await p.StopAsync();
        // The broker refreshes its counters every 5 s; backends flush their statistics when they exit.
        await Task.Delay(TimeSpan.FromSeconds(5.5));
        var (published, delivered) = await _stack.MessageCountsAsync(_name);
        var db = await _stack.DbCountersAsync(_name);
        return new SystemCounters(Submitted, published, delivered, db, hwm.ElementAtOrDefault(0), hwm.ElementAtOrDefault(1));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            try { await StopAsync(); } catch (Exception) { /* best effort on the way out */ }
        }
        foreach (var p in _processes)
            await p.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
        if (!_options.Keep)
        {
            await _stack.DropDatabaseAsync(_name);
            await _stack.DeleteVirtualHostAsync(_name);
        }
    }
}

/// <summary>Totals over every task the system ran (warm-up included): messages through the broker and database work.</summary>
public sealed record SystemCounters(int Tasks, long Published, long Delivered, DbCounters Db, double SchedulerPeakRssMb, double WorkerPeakRssMb)
{
    public string Describe()
    {
        double Per(long v) => Tasks > 0 ? (double)v / Tasks : 0;
        return $"per task: {Per(Published):0.00} messages published, {Per(Delivered):0.00} delivered; " +
               $"{Per(Db.Commits):0.00} transactions committed, {Per(Db.Rollbacks):0.00} rolled back, {Per(Db.Inserted):0.00} rows inserted, " +
               $"{Per(Db.Updated):0.00} updated, {Per(Db.Fetched):0.00} fetched; process peak RSS (VmHWM) scheduler {SchedulerPeakRssMb:0} MB, worker {WorkerPeakRssMb:0} MB";
    }
}
