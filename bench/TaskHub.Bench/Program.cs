using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TaskHub.Bench;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            if (ex.Message.Length > 0) Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        try
        {
            return await RunAsync(options, cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench: cancelled");
            return 130;
        }
    }

    static async Task<int> RunAsync(BenchOptions o, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.Now;
        var runId = $"{started:MMddHHmmss}{Environment.ProcessId % 1000:000}";
        var header = new StringBuilder();
        header.AppendLine($"TaskHub.Bench {started:yyyy-MM-dd HH:mm:ss zzz}  run {runId}");
        header.AppendLine($"machine: {Environment.ProcessorCount} cores, load average {ProcStats.LoadAverage()} (1/5/15 min), .NET {Environment.Version}");
        header.AppendLine($"tasks per run: {o.Tasks} (+{o.Warmup} warm-up), repeats: {o.Repeat}, services from {o.Root}" +
                          (o.Env.Count > 0 ? $", env: {string.Join(' ', o.Env.Select(e => $"{e.Target}:{e.Key}={e.Value}"))}" : "") +
                          (o.DbExtra is { Length: > 0 } extra ? $", connection string + \"{extra}\"" : ""));
        Console.Write(header);

        using var stack = Stack.FromEnvironment();
        var logs = Path.Combine(Path.GetTempPath(), "taskhub-bench", runId);
        if (o.RunPriority)
        {
            await using var system = await TaskHubSystem.StartAsync(stack, o, $"taskhub_bench_{runId}_priority", logs, cancellationToken);
            Console.WriteLine(await PriorityBench.RunAsync(system, o, cancellationToken));
            return 0;
        }
        if (o.RunScale)
        {
            // Issue 19's scale-out curve: the same no-op load on systems of 1, 2 and 4 Workers under 1 and 2 Schedulers.
            foreach (var (schedulers, workers) in new[] { (1, 1), (1, 2), (1, 4), (2, 1), (2, 2), (2, 4) })
            {
                (o.Schedulers, o.Workers) = (schedulers, workers);
                await using var system = await TaskHubSystem.StartAsync(stack, o, $"taskhub_bench_{runId}_s{schedulers}w{workers}", logs, cancellationToken);
                await system.RunAsync("warm-up", o.Warmup, null, measure: false, cancellationToken);
                var peak = await system.RunAsync($"scale {schedulers}S/{workers}W", o.Tasks, null, measure: true, cancellationToken);
                Console.WriteLine($"scale: {schedulers} Scheduler(s), {workers} Worker(s): {peak.TasksPerSecond:0} tasks/s, p50 {peak.Latency.P50:0} ms, " +
                                  $"p99 {peak.Latency.P99:0} ms; load average {ProcStats.LoadAverage()}");
            }
            return 0;
        }
        if (o.RunBatch)
        {
            await using var system = await TaskHubSystem.StartAsync(stack, o, $"taskhub_bench_{runId}_batch", logs, cancellationToken);
            var result = await BatchBench.RunAsync(system, o, cancellationToken);
            Console.WriteLine();
            Console.WriteLine(Report.Header);
            Console.WriteLine(Report.Rule);
            Console.WriteLine(Report.Row(result));
            Console.WriteLine();
            Console.WriteLine($"- {result.Path}: {result.Note}");
            Console.WriteLine($"- TaskHub {(await system.StopAsync()).Describe()}");
            Console.WriteLine($"- load average at the end: {ProcStats.LoadAverage()}");
            return 0;
        }
        if (o.RunEta)
        {
            await using var system = await TaskHubSystem.StartAsync(stack, o, $"taskhub_bench_{runId}_eta", logs, cancellationToken);
            Console.WriteLine(await EtaBench.RunAsync(system, o, cancellationToken));
            return 0;
        }
        var baselines = new List<PathResult>();
        var peaks = new List<PathResult>();
        PathResult? paced = null;
        SystemCounters? counters = null;

        for (var rep = 1; rep <= o.Repeat; rep++)
        {
            var tag = o.Repeat > 1 ? $" #{rep}" : "";
            if (o.RunBaseline)
            {
                var result = await new BaselineBench(stack, o).RunAsync($"{runId}_{rep}", o.Tasks, cancellationToken);
                baselines.Add(result with { Path = result.Path + tag });
            }
            if (o.RunTaskHub)
            {
                await using var system = await TaskHubSystem.StartAsync(stack, o, $"taskhub_bench_{runId}_{rep}", logs, cancellationToken);
                Console.WriteLine($"  TaskHub up in {system.StartupTime.TotalSeconds:0.0}s (scheduler pid {system.Scheduler.Pid}, worker pid {system.Worker.Pid}, logs {logs})");
                await system.RunAsync("warm-up", o.Warmup, null, measure: false, cancellationToken);
                var peak = await system.RunAsync("(2) TaskHub .NET peak", o.Tasks, null, measure: true, cancellationToken);
                peaks.Add(peak with { Path = "(2) TaskHub .NET path, peak" + tag });
                if (rep == o.Repeat && o.RunPaced)
                {
                    var rate = Report.Median(peaks.Select(p => p.TasksPerSecond).ToList()) / 2;
                    var count = (int)Math.Clamp(rate * o.PacedSeconds, Math.Min(200, o.Tasks), o.Tasks);
                    var result = await system.RunAsync($"(2) at {rate:0}/s (half peak)", count, rate, measure: true, cancellationToken);
                    paced = result with { Path = $"(2) TaskHub .NET path at half peak ({rate:0}/s paced)" };
                }
                counters = await system.StopAsync();
            }
        }

        var table = new StringBuilder();
        table.AppendLine(Report.Header);
        table.AppendLine(Report.Rule);
        foreach (var r in baselines.Concat(peaks).Append(paced).OfType<PathResult>())
            table.AppendLine(Report.Row(r));
        var newRows = new List<PathResult>();
        if (o.RunHttp || o.RunTimers)
        {
            // (3a), (3b), (4): one Scheduler + Worker + Api, each its own process, on a fresh vhost and database.
            await using var api = await ApiSystem.StartAsync(stack, o, $"taskhub_bench_{runId}_http", logs, cancellationToken);
            Console.WriteLine($"  Api system up in {api.StartupTime.TotalSeconds:0.0}s (scheduler pid {api.Scheduler.Pid}, worker pid {api.Worker.Pid}, api pid {api.Api.Pid} at {api.BaseUrl}, logs {logs})");
            if (o.RunTimers)
                newRows.Add(await TimerBench.RunAsync(api, o, cancellationToken));
            if (o.RunHttp)
            {
                await HttpPathBench.RunPushAsync(api, o, Math.Min(o.Warmup, o.HttpTasks), measure: false, cancellationToken);
                newRows.Add(await HttpPathBench.RunPushAsync(api, o, o.HttpTasks, measure: true, cancellationToken));
                newRows.Add(await HttpPathBench.RunPushAsync(api, o, o.HttpTasks, measure: true, cancellationToken, apiAlone: true));
                newRows.Add(await HttpPathBench.RunPullAsync(api, o, cancellationToken));
            }
        }
        foreach (var path in new[] { HttpPathBench.PushPath, HttpPathBench.AlonePath, HttpPathBench.PullPath, TimerBench.Path })
        {
            var tag = path.Split(' ')[0];
            var result = newRows.FirstOrDefault(r => r.Path.StartsWith(tag + " ", StringComparison.Ordinal));
            if (result is not null) table.AppendLine(Report.Row(result));
            else if (!o.OnlyNewRows) table.AppendLine($"| {path} | not run | | | | | | | | | | |");
        }

        // Issue 19's peer: Hangfire's rows after TaskHub's, on the same PostgreSQL server, in a database of its own.
        var peerRows = o.RunHangfire ? await new HangfireBench(stack, o).RunAsync(runId, cancellationToken) : [];
        foreach (var r in peerRows)
            table.AppendLine(Report.Row(r));

        var notes = new StringBuilder();
        foreach (var r in baselines.Concat(peaks).Append(paced).OfType<PathResult>().Concat(newRows).Concat(peerRows).Where(r => r.Note is not null))
            notes.AppendLine($"- {r.Path}: {r.Note}");
        foreach (var line in HangfireBench.Compare(peaks, newRows.FirstOrDefault(r => r.Path.StartsWith("(4) ", StringComparison.Ordinal)), peerRows))
            notes.AppendLine($"- {line}");
        if (counters is not null)
            notes.AppendLine($"- TaskHub {counters.Describe()}");
        var baseRate = Report.Median(baselines.Select(r => r.TasksPerSecond).ToList());
        var hubRate = Report.Median(peaks.Select(r => r.TasksPerSecond).ToList());
        // Each TaskHub run is set against the baseline run just before it, which saw the same machine;
        // with repeats the ratio is the median of those pairs, not the ratio of two medians.
        var pairRatios = baselines.Count == peaks.Count
            ? baselines.Zip(peaks, (b, p) => p.TasksPerSecond / b.TasksPerSecond).ToList()
            : [];
        var ratio = pairRatios.Count > 0 ? Report.Median(pairRatios)
            : baselines.Count > 0 && peaks.Count > 0 ? hubRate / baseRate : double.NaN;
        if (o.Repeat > 1)
        {
            notes.AppendLine($"- baseline tasks/s: {Report.Spread(baselines.Select(r => r.TasksPerSecond).ToList())}");
            notes.AppendLine($"- TaskHub peak tasks/s: {Report.Spread(peaks.Select(r => r.TasksPerSecond).ToList())}");
            if (pairRatios.Count > 0)
                notes.AppendLine($"- ratio per repeat: {Report.Spread(pairRatios, "0.00")}");
        }
        if (paced is not null)
            notes.AppendLine($"- targets: ratio >= 0.50: {(ratio >= 0.5 ? "met" : "NOT met")} ({ratio:0.00}); p99 at half peak < 250 ms: " +
                             $"{(paced.Latency.P99 < 250 ? "met" : "NOT met")} ({paced.Latency.P99:0} ms); RSS < 300 MB: " +
                             $"{(peaks.Append(paced).All(p => p.SchedulerRssMb < 300 && p.WorkerRssMb < 300) ? "met" : "NOT met")}");
        notes.AppendLine($"- load average at the end: {ProcStats.LoadAverage()}; CPU of rabbit and pg counts every process of the shared broker/database, other users included.");

        Console.WriteLine();
        Console.Write(table);
        Console.WriteLine();
        Console.Write(notes);
        var last = o.OnlyNewRows
            ? string.Join("; ", newRows.Concat(peerRows).Select(r => $"{r.Path.Split(' ')[0]} {r.Tasks} tasks/s {Report.Row(r).Split('|')[3].Trim()} p50 {r.Latency.P50:0} p99 {r.Latency.P99:0}"))
            : $"ratio {ratio:0.00} baseline {baseRate:0} taskhub {hubRate:0}";

        if (o.Readme is not null && o.OnlyHangfire)
        {
            // The peer alone has no TaskHub row to stand beside: its figures go by hand into the README's "Peers (issue 19)".
            Console.WriteLine($"(--only hangfire: {o.Readme} not written)");
        }
        else if (o.Readme is not null && !o.Smoke && o.OnlyNewRows)
        {
            var note = new StringBuilder();
            note.AppendLine($"Rows {string.Join(", ", newRows.Select(r => r.Path.Split(' ')[0]))} from run {runId}, {started:yyyy-MM-dd HH:mm zzz}, command `{o.Command}`, " +
                            $"load average {header.ToString().Split("load average ")[1].Split(' ').Take(3).Aggregate((a, b) => a + " " + b)} at the start, {ProcStats.LoadAverage()} at the end:");
            note.AppendLine();
            note.Append(notes);
            Report.UpdateReadmeRows(o.Readme, table.ToString().Split('\n').Where(l => l.StartsWith("| (", StringComparison.Ordinal)).ToList(), note.ToString());
            Console.WriteLine($"(rows written to {o.Readme})");
        }
        else if (o.Readme is not null && !o.Smoke)
        {
            var body = new StringBuilder();
            body.AppendLine($"Latest run: {started:yyyy-MM-dd HH:mm zzz}, command `{o.Command}`");
            body.AppendLine();
            body.AppendLine("```");
            body.Append(header);
            body.AppendLine("```");
            body.AppendLine();
            body.Append(table);
            body.AppendLine();
            body.Append(notes);
            body.AppendLine();
            body.AppendLine($"`{last}`");
            Report.WriteReadme(o.Readme, body.ToString());
            Console.WriteLine($"(figures written to {o.Readme})");
        }
        Console.WriteLine(last);
        return 0;
    }
}
