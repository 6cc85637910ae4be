namespace TaskHub.Bench;

/// <summary>
/// (3) The HTTP paths, waiting for their endpoints. Fill <see cref="RunAsync"/> in when they land:
/// (3a) POST /task/new against a loopback callee that confirms at once, N = 5,000;
/// (3b) POST /task/put + peek/acquire/reply cycles with 8 consumers.
/// Until then they read nothing and report "not built". (3b) exists as its own program,
/// bench/TaskHub.Bench.PullQueue (CycleBench, CallBench), against an Api that is already running:
/// wiring it in here means starting an Api process as <see cref="TaskHubSystem"/> starts the Scheduler.
/// </summary>
public static class HttpPathBench
{
    public const string PushPath = "(3a) HTTP POST /task/new";
    public const string PullPath = "(3b) HTTP /task/put + acquire/reply";

    public static bool Built => false;

    public static Task<PathResult?> RunPushAsync(Stack stack, BenchOptions options, CancellationToken cancellationToken) =>
        Task.FromResult<PathResult?>(null);

    public static Task<PathResult?> RunPullAsync(Stack stack, BenchOptions options, CancellationToken cancellationToken) =>
        Task.FromResult<PathResult?>(null);
}

/// <summary>
/// (4) Timers, waiting for the callback endpoints: 1,000 setTimeout callbacks due within 10 s,
/// lateness p50/p99/max. Until then it reads nothing and reports "not built".
/// </summary>
public static class TimerBench
{
    public const string Path = "(4) timers: 1,000 setTimeout callbacks";

    public static bool Built => false;

    public static Task<PathResult?> RunAsync(Stack stack, BenchOptions options, CancellationToken cancellationToken) =>
        Task.FromResult<PathResult?>(null);
}
