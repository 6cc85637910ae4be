using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Npgsql;

namespace TaskHub.Bench;

/// <summary>
/// Issue 19's peer (<c>--only hangfire</c>, or beside TaskHub's rows with <c>--peers</c>): Hangfire 1.8 on Hangfire.PostgreSql,
/// client and server in this process, on the same PostgreSQL server in a database of its own (schema installed before any
/// timing). (5) N no-op jobs enqueued through <see cref="IBackgroundJobClient"/>, timed from the first enqueue until all N are
/// Succeeded in the storage; (6) 1,000 delayed jobs due 1000 + i*9 ms ahead, lateness = the body's start − the due time.
/// </summary>
public sealed class HangfireBench(Stack stack, BenchOptions options)
{
    public const string ThroughputPath = "(5) Hangfire 1.8 + Hangfire.PostgreSql no-op";
    public const string DelayedPath = "(6) Hangfire delayed jobs: 1,000 Schedule()";

    /// <summary>
    /// Hangfire's docs give ProcessorCount * 5 (10 here) as the default; the library caps that default at 20 (its issue 246).
    /// A no-op job spends its time waiting on PostgreSQL round trips, so the cap, not the CPU formula.
    /// </summary>
    const int WorkerCount = 20;
    /// <summary>Enqueue is synchronous (one transaction on a pooled connection each): 16 at once, as the timer and Eta benches send.</summary>
    const int EnqueueInFlight = 16;
    /// <summary>Hangfire.PostgreSql refuses less than 50 ms without AllowUnsafeValues; in-process enqueues also wake a worker directly.</summary>
    static readonly TimeSpan QueuePollInterval = TimeSpan.FromMilliseconds(50);
    /// <summary>DelayedJobScheduler polls every 15 s by default; the docs set no floor (0 would spin on the lock), so the queue's floor.</summary>
    static readonly TimeSpan SchedulePollingInterval = TimeSpan.FromMilliseconds(50);

    public static string Settings =>
        $"WorkerCount {WorkerCount}, QueuePollInterval {QueuePollInterval.TotalMilliseconds:0} ms, SchedulePollingInterval {SchedulePollingInterval.TotalMilliseconds:0} ms, " +
        "UseSlidingInvisibilityTimeout (InvisibilityTimeout 5 min), EnableLongPolling off (LISTEN/NOTIFY only helps other processes and costs a connection per fetch), " +
        "EnableTransactionScopeEnlistment off (Enlist=false), native transactions, PrepareSchemaIfNecessary before timing; CompatibilityLevel 1.8, simple type names, recommended serializer settings";

    public async Task<IReadOnlyList<PathResult>> RunAsync(string runId, CancellationToken cancellationToken)
    {
        var database = $"taskhub_bench_{runId}_hangfire";
        await stack.CreateDatabaseAsync(database);
        // Enlist=false: no TransactionScope here, so Npgsql need not look for one on every open; Hangfire.PostgreSql
        // insists on it when EnableTransactionScopeEnlistment is off.
        var connectionString = new NpgsqlConnectionStringBuilder(stack.WithDatabase(database)) { Enlist = false }.ConnectionString;
        try
        {
            GlobalConfiguration.Configuration
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            var storageOptions = new PostgreSqlStorageOptions
            {
                QueuePollInterval = QueuePollInterval,
                UseSlidingInvisibilityTimeout = true,
                InvisibilityTimeout = TimeSpan.FromMinutes(5),
                EnableLongPolling = false,
                EnableTransactionScopeEnlistment = false,
                UseNativeDatabaseTransactions = true,
                PrepareSchemaIfNecessary = true,
                StartupConnectionMaxRetries = 0,
                AllowDegradedModeWithoutStorage = false,
            };
            var setup = Stopwatch.StartNew();
            var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions);
            var client = new BackgroundJobClient(storage);
            var serverOptions = new BackgroundJobServerOptions
            {
                ServerName = $"taskhub-bench-{runId}",
                WorkerCount = WorkerCount,
                SchedulePollingInterval = SchedulePollingInterval,
            };
            using var server = new BackgroundJobServer(serverOptions, storage);
            await using var db = NpgsqlDataSource.Create(connectionString);
            Console.WriteLine($"  Hangfire up in {setup.Elapsed.TotalSeconds:0.0}s (database {database}, schema installed; {WorkerCount} workers)");

            await RunNoopsAsync(client, db, options.Warmup, measure: false, cancellationToken);
            var throughput = await RunNoopsAsync(client, db, options.Tasks, measure: true, cancellationToken);
            var delayed = await RunDelayedAsync(client, db, options.Smoke ? 200 : 1000, cancellationToken);
            return [throughput!, delayed];
        }
        finally
        {
            if (!options.Keep) await stack.DropDatabaseAsync(database);
        }
    }

    async Task<PathResult?> RunNoopsAsync(IBackgroundJobClient client, NpgsqlDataSource db, int count, bool measure, CancellationToken cancellationToken)
    {
        var before = await ScalarAsync(db, "SELECT coalesce(max(id), 0) FROM hangfire.job");
        var succeededBefore = await ScalarAsync(db, "SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded'");
        HangfireJobs.Reset(0);
        var counters = await stack.DbCountersAsync(new NpgsqlConnectionStringBuilder(db.ConnectionString).Database!);
        var cpu = new CpuMeter();
        var clock = Stopwatch.StartNew();
        var submitted = 0;
        var enqueue = Task.Run(() => Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = EnqueueInFlight, CancellationToken = cancellationToken }, _ =>
        {
            client.Enqueue(() => HangfireJobs.Noop());
            Interlocked.Increment(ref submitted);
        }), cancellationToken);
        var succeeded = 0L;
        await using (new Progress(measure ? ThroughputPath : "(5) Hangfire warm-up", count, () => (Volatile.Read(ref submitted), (int)Interlocked.Read(ref succeeded))))
        {
            // Until every body has run, count them in memory (a count(*) every few ms would be billed to PostgreSQL); then
            // poll the storage until all are Succeeded (the state is written after the body returns).
            while (HangfireJobs.NoopRuns < count && clock.Elapsed < TimeSpan.FromMinutes(8))
            {
                if (enqueue.IsFaulted) await enqueue;
                await Task.Delay(20, cancellationToken);
                Interlocked.Exchange(ref succeeded, HangfireJobs.NoopRuns);
            }
            await enqueue;
            while ((succeeded = await ScalarAsync(db, "SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded'") - succeededBefore) < count
                   && clock.Elapsed < TimeSpan.FromMinutes(8))
                await Task.Delay(10, cancellationToken);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var used = cpu.Stop();
        if (!measure) return null;
        var perJob = await stack.DbCountersAsync(new NpgsqlConnectionStringBuilder(db.ConnectionString).Database!) - counters;

        await using var command = db.CreateCommand("""
            SELECT count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
                   max(ms)
            FROM (SELECT extract(epoch FROM s.createdat - j.createdat) * 1000 AS ms
                  FROM hangfire.job j JOIN hangfire.state s ON s.id = j.stateid
                  WHERE j.statename = 'Succeeded' AND j.id > $1) t
            """);
        command.Parameters.AddWithValue(before);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var done = (int)reader.GetInt64(0);
        var latency = new Latency(done, reader.GetDouble(1), reader.GetDouble(2), Convert.ToDouble(reader.GetValue(3)));
        var note = $"{done} of {count} Succeeded{(done == count ? "" : " (MISSING some)")}, {HangfireJobs.NoopRuns - count} bodies run more than once; " +
                   $"enqueued {EnqueueInFlight} at once, timed from the first enqueue to the last Succeeded state; latency = job createdat → Succeeded state createdat; " +
                   $"client and server in the bench process (its CPU and peak RSS {ProcStats.Memory(Environment.ProcessId).Peak:0} MB); per job " +
                   $"{(double)perJob.Commits / count:0.00} transactions committed, {(double)perJob.Rollbacks / count:0.00} rolled back, " +
                   $"{(double)perJob.Inserted / count:0.00} rows inserted, {(double)perJob.Updated / count:0.00} updated; settings: {Settings}";
        return new PathResult(ThroughputPath, done, seconds, latency, used, Note: note);
    }

    async Task<PathResult> RunDelayedAsync(IBackgroundJobClient client, NpgsqlDataSource db, int count, CancellationToken cancellationToken)
    {
        // Warm-up as the timers' (4): short delays through the same DelayedJobScheduler path, then a few seconds for the JIT.
        var warmUp = options.Smoke ? 20 : 500;
        HangfireJobs.Reset(0);
        Parallel.For(0, warmUp, new ParallelOptions { MaxDegreeOfParallelism = EnqueueInFlight }, i =>
            client.Schedule(() => HangfireJobs.Noop(), TimeSpan.FromMilliseconds(i * 2)));
        var warmClock = Stopwatch.StartNew();
        while (HangfireJobs.NoopRuns < warmUp && warmClock.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(50, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(options.Smoke ? 0 : 5), cancellationToken);

        HangfireJobs.Reset(count);
        var cpu = new CpuMeter();
        var clock = Stopwatch.StartNew();
        var submitted = 0;
        await Task.Run(() => Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = EnqueueInFlight, CancellationToken = cancellationToken }, i =>
        {
            var due = DateTimeOffset.UtcNow.AddMilliseconds(1000 + i * 9);
            HangfireJobs.Due[i] = due.UtcTicks;
            client.Schedule(() => HangfireJobs.Delayed(i), due);
            Interlocked.Increment(ref submitted);
        }), cancellationToken);
        var submitSeconds = clock.Elapsed.TotalSeconds;
        var lastDue = new DateTimeOffset(HangfireJobs.Due.Max(), TimeSpan.Zero);
        await using (new Progress(DelayedPath, count, () => (submitted, HangfireJobs.DelayedFirstRuns)))
        {
            while (HangfireJobs.DelayedFirstRuns < count && DateTimeOffset.UtcNow < lastDue.AddSeconds(60))
                await Task.Delay(50, cancellationToken);
            // A second run would come from a re-fetch after the invisibility timeout or a retry: give stragglers a moment.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
        var used = cpu.Stop();
        var late = Enumerable.Range(0, count).Where(i => HangfireJobs.Started[i] != 0)
            .Select(i => (HangfireJobs.Started[i] - HangfireJobs.Due[i]) / (double)TimeSpan.TicksPerMillisecond).Order().ToArray();
        double Pct(double p) => late.Length == 0 ? double.NaN : late[Math.Clamp((int)Math.Ceiling(p / 100 * late.Length) - 1, 0, late.Length - 1)];
        var latency = new Latency(late.Length, Pct(50), Pct(99), late.Length == 0 ? double.NaN : late[^1]);
        var twice = HangfireJobs.Runs.Count(r => r > 1);
        var note = $"{late.Length} of {count} ran{(late.Length == count ? "" : " (MISSING some)")}, {late.Count(l => l < 0)} early, {twice} more than once; " +
                   $"lateness (body start − due) p50 {latency.P50:0} ms, p99 {latency.P99:0} ms, max {latency.Max:0} ms, min {(late.Length > 0 ? late[0] : double.NaN):0} ms; " +
                   $"{count} scheduled in {submitSeconds:0.0} s ({EnqueueInFlight} at once), due = schedule time + 1000 + i*9 ms; p50/p99 columns are lateness, " +
                   "tasks/s not applicable; Hangfire keeps a due time in whole seconds (the schedule set's score), so a job may be enqueued up to 1 s before it is due";
        return new PathResult(DelayedPath.Replace("1,000", count.ToString("N0")), late.Length, double.NaN, latency, used, Note: note);
    }

    /// <summary>TaskHub's row against Hangfire's: the .NET path's peak over Hangfire's no-op rate, and the delayed-start p99s.</summary>
    public static IEnumerable<string> Compare(IReadOnlyList<PathResult> taskHubPeaks, PathResult? taskHubTimers, IReadOnlyList<PathResult> hangfire)
    {
        var rate = hangfire.FirstOrDefault(r => r.Path == ThroughputPath);
        var delayed = hangfire.FirstOrDefault(r => r.Path.StartsWith("(6) ", StringComparison.Ordinal));
        if (rate is not null && taskHubPeaks.Count > 0)
        {
            var hub = Report.Median(taskHubPeaks.Select(p => p.TasksPerSecond).ToList());
            yield return $"peer throughput: TaskHub .NET peak {hub:0} tasks/s ÷ Hangfire {rate.TasksPerSecond:0} tasks/s = {hub / rate.TasksPerSecond:0.00}";
        }
        if (delayed is not null && taskHubTimers is not null)
            yield return $"peer lateness p99: TaskHub timers (4) {taskHubTimers.Latency.P99:0} ms, Hangfire delayed jobs (6) {delayed.Latency.P99:0} ms";
    }

    static async Task<long> ScalarAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

/// <summary>The bodies of the Hangfire peer's jobs: public and static so Hangfire invokes them without an activator.</summary>
public static class HangfireJobs
{
    static int _noopRuns;
    static int _delayedFirstRuns;

    public static int NoopRuns => Volatile.Read(ref _noopRuns);
    public static int DelayedFirstRuns => Volatile.Read(ref _delayedFirstRuns);
    /// <summary>UTC ticks each delayed job is due, its body's first start (0 = not yet), and how often its body ran.</summary>
    public static long[] Due { get; private set; } = [];
    public static long[] Started { get; private set; } = [];
    public static int[] Runs { get; private set; } = [];

    public static void Reset(int delayed)
    {
        Volatile.Write(ref _noopRuns, 0);
        Volatile.Write(ref _delayedFirstRuns, 0);
        Due = new long[delayed];
        Started = new long[delayed];
        Runs = new int[delayed];
    }

    public static void Noop() => Interlocked.Increment(ref _noopRuns);

    public static void Delayed(int i)
    {
        var now = DateTime.UtcNow.Ticks;
        if (Interlocked.Increment(ref Runs[i]) == 1)
        {
            Volatile.Write(ref Started[i], now);
            Interlocked.Increment(ref _delayedFirstRuns);
        }
    }
}
