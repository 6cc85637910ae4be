using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Testing;

namespace TaskHub.Bench;

/// <summary>
/// (2) The TaskHub .NET path: <see cref="ITaskClient"/> in this process → RabbitMQ → Scheduler
/// (task saga in PostgreSQL, its own process) → Worker ("Noop" sample handler, its own process) → SUCCESS.
/// A fresh vhost and a fresh database per system; the Scheduler migrates the database as in production.
/// Completion is read from the tasks table (count of Succeeded), latency from its created_at/finished_at.
/// </summary>
public sealed class TaskHubSystem : IAsyncDisposable
{
    readonly BenchServices _services;
    readonly BenchOptions _options;
    IHost? _client;
    bool _stopped;

    TaskHubSystem(BenchServices services, BenchOptions options)
    {
        _services = services;
        _options = options;
    }

    public ServiceProcess Scheduler => _services.Scheduler;
    public ServiceProcess Worker => _services.Worker;
    internal BenchServices Services => _services;
    public ITaskClient Client => _client!.Services.GetRequiredService<ITaskClient>();
    public int Submitted { get; private set; }

    /// <summary>Tasks a run other than <see cref="RunAsync"/> submitted (the batches'), for the per-task counters.</summary>
    internal void CountSubmitted(int tasks) => Submitted += tasks;
    public TimeSpan StartupTime { get; private set; }

    public static async Task<TaskHubSystem> StartAsync(Stack stack, BenchOptions options, string name, string logDirectory, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var system = new TaskHubSystem(await BenchServices.StartAsync(stack, options, name, logDirectory, new Dictionary<string, string>(), cancellationToken), options);
        try
        {
            await system.StartClientAsync(cancellationToken);
            system.StartupTime = clock.Elapsed;
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    async Task StartClientAsync(CancellationToken cancellationToken)
    {
        // The development profile, as the services it sends to: their documented bus key.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Bus:SigningKeys:dev"] = BusSigningOptions.DevelopmentKey,
            ["Bus:SignWith"] = "dev",
            ["AsyncTask:Broker"] = _services.Broker,
            ["AsyncTask:ResultBackend"] = _services.Database,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddAsyncTaskOptions(builder.Configuration);
        builder.Services.AddTaskHubBus(x => x.AddTaskClient());
        _client = builder.Build();
        await _client.StartAsync(cancellationToken);
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

        var poll = new CompletionPoll(count);
        await using (measure ? new Progress(label, count, () => (submitted, succeeded)) : null)
        {
            while (true)
            {
                (succeeded, failed) = await CountAsync(from, abort.Token);
                if (succeeded + failed >= count && submitting.IsCompleted) break;
                if (submitting.IsFaulted) await submitting;
                _services.ThrowIfExited();
                if (clock.Elapsed > TimeSpan.FromMinutes(8))
                    throw new TimeoutException($"{label}: only {succeeded} of {count} tasks succeeded ({failed} failed) within 8 minutes");
                await Task.Delay(poll.Next(succeeded + failed), abort.Token);
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        await submitting;
        var used = cpu.Stop();
        var peakRss = await rss.StopAsync();
        Submitted += count;
        var latency = await Latency.QueryAsync(_services.Db, "tasks", "current_state", "Succeeded", from);
        return new PathResult(label, count, seconds, latency, used, peakRss[0], peakRss[1],
            failed > 0 ? $"{failed} tasks FAILED" : null);
    }

    async Task<(int Succeeded, int Failed)> CountAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        await using var cmd = _services.Db.CreateCommand("""
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
        var hwm = _services.Processes.Select(p => ProcStats.Memory(p.Pid).Peak).ToArray();
        await _services.StopAsync();
        // The broker refreshes its counters every 5 s; backends flush their statistics when they exit.
        await Task.Delay(TimeSpan.FromSeconds(5.5));
        var (published, delivered) = await _services.MessageCountsAsync();
        var db = await _services.DbCountersAsync();
        return new SystemCounters(Submitted, published, delivered, db, hwm.ElementAtOrDefault(0), hwm.ElementAtOrDefault(1));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            try { await StopAsync(); } catch (Exception) { /* best effort on the way out */ }
        }
        await _services.DisposeAsync();
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
