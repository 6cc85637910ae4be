using System.Globalization;

namespace TaskHub.Bench;

/// <summary>Command line of the benchmark; see <see cref="Usage"/>.</summary>
public sealed class BenchOptions
{
    public const string Usage = """
        usage: TaskHub.Bench [N] [options]
          N                      tasks per measured run (default 20000)
          --smoke                N = 200, short warm-up and paced phase: proves the benchmark works
          --repeat R             measure baseline and TaskHub peak R times, alternating (default 1)
          --only baseline|taskhub|http|timers|new  run one path only (http: (3a)+(3b); new: (3a), (3b) and (4));
                                 with http/timers/new, --readme replaces only those rows in the README block
          --only priority        N priority-0 tasks queued with the Worker stopped, then one of priority 9: how many start before it
          --only scale           the .NET path (N tasks, peak) with 1, 2 and 4 Worker processes under 1 and 2 Schedulers
          --timers N             timers of the (4) run, due within ~10 s (default 1000)
          --only batch           N no-op .NET tasks through ITaskClient.SendTasksAsync in calls of 1,000 (issue 19): acceptance
                                 (until every send is confirmed) and end-to-end tasks/s (until all are SUCCESS)
          --only eta             1,000 .NET tasks with an Eta 1000 + i*9 ms ahead (due within ~10 s): start lateness p50/p99/max, early, twice
          --only hangfire        the peer alone (issue 19): Hangfire 1.8 + Hangfire.PostgreSql in this process, own database;
                                 (5) N no-op jobs (tasks/s, p50/p99), (6) 1,000 delayed jobs due 1000 + i*9 ms ahead (lateness)
          --peers                add the Hangfire rows (5) and (6) to the run, with TaskHub/Hangfire ratios in the notes
          --http-tasks N         tasks of the (3a) run (default 5000; 200 with --smoke)
          --warmup N             tasks run before each measured run, not counted (default 500; 50 with --smoke)
          --no-paced             skip the TaskHub run at half of its peak rate
          --paced-seconds S      length of the paced run (default 20)
          --root DIR             repository whose src/*/bin/Release/net10.0 dlls are run (default: this checkout)
          --env [scheduler:|worker:]KEY=VALUE   extra environment for the spawned Scheduler/Worker (repeatable)
          --db-extra TEXT        appended to the spawned services' connection string, e.g. "No Reset On Close=true"
          --readme FILE          write the figures into FILE's "End-to-end (.NET path, issue 6)" section
          --command TEXT         the command line to quote in the README
          --keep                 keep the run's databases and vhosts (for inspection)
        environment: AsyncTask__Broker, AsyncTask__ResultBackend, TASKHUB_RABBITMQ_MANAGEMENT (scripts/stack.sh start prints them)
        """;

    public int Tasks { get; set; } = 20_000;
    public bool Smoke { get; set; }
    public int Repeat { get; set; } = 1;
    public bool RunBaseline { get; set; } = true;
    public bool RunTaskHub { get; set; } = true;
    public bool RunHttp { get; set; } = true;
    public bool RunTimers { get; set; } = true;
    public bool RunPriority { get; set; }
    public bool RunEta { get; set; }
    public bool RunScale { get; set; }
    public bool RunBatch { get; set; }
    /// <summary>Worker and Scheduler processes each TaskHub system of the run starts.</summary>
    public int Workers { get; set; } = 1;
    public int Schedulers { get; set; } = 1;
    public int? TimerCount { get; set; }
    /// <summary>Issue 19's Hangfire peer: alone (<c>--only hangfire</c>) or beside TaskHub's rows (<c>--peers</c>).</summary>
    public bool RunHangfire => OnlyHangfire || Peers;
    public bool OnlyHangfire { get; set; }
    public bool Peers { get; set; }
    public int HttpTasks { get; set; } = 5_000;
    public bool OnlyNewRows => !RunBaseline && !RunTaskHub;
    public bool RunPaced { get; set; } = true;
    public double PacedSeconds { get; set; } = 20;
    public int Warmup { get; set; } = 500;
    public string Root { get; set; } = FindRoot();
    public List<(string Target, string Key, string Value)> Env { get; } = [];
    public string? DbExtra { get; set; }
    public string? Readme { get; set; }
    public string Command { get; set; } = "bench/run.sh";
    public bool Keep { get; set; }

    /// <summary>Tasks one baseline publisher / TaskHub client keeps in flight (awaiting their confirms).</summary>
    public int PublishWindow { get; set; } = 256;
    /// <summary>Baseline consumer: messages handled at once, and the channel's prefetch.</summary>
    public int BaselineConcurrency { get; set; } = 16;
    public int BaselinePrefetch { get; set; } = 256;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        int? n = null;
        int? httpTasks = null, warmup = null;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--smoke": o.Smoke = true; break;
                case "--repeat": o.Repeat = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--only":
                    var only = Next();
                    o.RunBaseline = only == "baseline";
                    o.RunTaskHub = only == "taskhub";
                    o.RunHttp = only is "http" or "new";
                    o.RunTimers = only is "timers" or "new";
                    o.RunPriority = only == "priority";
                    o.RunEta = only == "eta";
                    o.RunScale = only == "scale";
                    o.RunBatch = only == "batch";
                    o.OnlyHangfire = only == "hangfire";
                    if (!o.RunBaseline && !o.RunTaskHub && !o.RunHttp && !o.RunTimers && !o.RunPriority && !o.RunEta && !o.OnlyHangfire && !o.RunScale
                        && !o.RunBatch)
                        throw new ArgumentException("--only takes baseline, taskhub, http, timers, new, priority, eta, scale, batch or hangfire");
                    break;
                case "--peers": o.Peers = true; break;
                case "--timers": o.TimerCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--no-paced": o.RunPaced = false; break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--http-tasks": httpTasks = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--paced-seconds": o.PacedSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--root": o.Root = Path.GetFullPath(Next()); break;
                case "--env":
                    var spec = Next();
                    var target = "all";
                    var colon = spec.IndexOf(':');
                    var eq = spec.IndexOf('=');
                    if (colon > 0 && colon < eq && spec[..colon] is "scheduler" or "worker" or "all")
                    {
                        target = spec[..colon];
                        spec = spec[(colon + 1)..];
                        eq = spec.IndexOf('=');
                    }
                    if (eq <= 0) throw new ArgumentException($"--env takes [scheduler:|worker:]KEY=VALUE (was {spec})");
                    o.Env.Add((target, spec[..eq], spec[(eq + 1)..]));
                    break;
                case "--db-extra": o.DbExtra = Next(); break;
                case "--readme": o.Readme = Path.GetFullPath(Next()); break;
                case "--command": o.Command = Next(); break;
                case "--keep": o.Keep = true; break;
                case "-h" or "--help": throw new ArgumentException("");
                default:
                    if (a.StartsWith('-') || !int.TryParse(a, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
                        throw new ArgumentException($"unknown argument '{a}'");
                    n = parsed;
                    break;
            }
        }
        if (o.Smoke)
        {
            o.Tasks = n ?? 200;
            o.Warmup = 50;
            o.PacedSeconds = Math.Min(o.PacedSeconds, 3);
        }
        else if (n is { } given)
        {
            o.Tasks = given;
        }
        o.HttpTasks = httpTasks ?? (o.Smoke ? 200 : 5_000);
        if (warmup is { } w) o.Warmup = w;
        if (o.Repeat < 1) throw new ArgumentException("--repeat must be at least 1");
        if (o.Warmup < 1) throw new ArgumentException("--warmup must be at least 1");
        return o;
    }

    public IEnumerable<KeyValuePair<string, string>> EnvFor(string target) =>
        Env.Where(e => e.Target == "all" || e.Target == target).Select(e => KeyValuePair.Create(e.Key, e.Value));

    /// <summary>The checkout this program was built in: the nearest folder up with Solution.sln.</summary>
    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Solution.sln")))
                return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
