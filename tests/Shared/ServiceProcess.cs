using System.Diagnostics;

namespace TaskHub.Testing;

/// <summary>
/// A Scheduler, Worker or Api run as its own process (<c>dotnet X.dll</c>, as in production), its
/// output in a log file. Stopped with SIGTERM, or killed with SIGKILL as a fault. Supervised as
/// run.sh and docker-compose's restart policy do: a process that exits with 75 (its send path was
/// stuck, <c>StuckSendWatchdog</c>) is started again, into the same log. One source for the
/// benchmark and the fault tests, linked into both projects.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    const int RestartExitCode = 75;
    readonly ProcessStartInfo _start;
    readonly Stopwatch _age = Stopwatch.StartNew();
    readonly List<string> _restarts = [];
    volatile Process _process;
    volatile bool _stopping;

    ServiceProcess(string name, ProcessStartInfo start, string log)
    {
        Name = name;
        _start = start;
        Log = log;
        _process = Launch();
    }

    public string Name { get; }
    public string Log { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    /// <summary>True once the test killed it on purpose: its exit is not a failure.</summary>
    public bool Killed { get; private set; }
    /// <summary>Each start again after an exit with 75, as "exited 75 at +12.3s (pid 4242)".</summary>
    public IReadOnlyList<string> Restarts { get { lock (_restarts) return [.. _restarts]; } }

    Process Launch()
    {
        var process = new Process { StartInfo = _start, EnableRaisingEvents = true };
        process.Exited += (_, _) => RestartIfStuck(process);
        if (!process.Start())
            throw new InvalidOperationException($"could not start {Name}");
        return process;
    }

    void RestartIfStuck(Process exited)
    {
        if (Killed || _stopping || exited.ExitCode != RestartExitCode)
            return;
        lock (_restarts)
        {
            _restarts.Add($"exited {RestartExitCode} at +{_age.Elapsed.TotalSeconds:0.0}s (pid {exited.Id})");
            File.AppendAllText(Log, $"----- {Name} exited with {RestartExitCode}: started again -----\n");
            _process = Launch();
        }
    }

    public static ServiceProcess Start(string name, string dll, IEnumerable<KeyValuePair<string, string>> environment, string log)
    {
        if (!File.Exists(dll))
            throw new FileNotFoundException(
                $"{dll} is missing: build the services first (dotnet build Solution.sln -c Release; ./test.sh and bench/run.sh do)", dll);
        File.Delete(log);
        // `exec` keeps the pid: the shell only redirects the output, then becomes the app.
        var start = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", "exec dotnet \"$0\" >>\"$1\" 2>&1 </dev/null", dll, log },
            WorkingDirectory = Path.GetDirectoryName(dll)!, // content root: its appsettings*.json
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        return new ServiceProcess(name, start, log);
    }

    public string LogTail(int lines = 40)
    {
        try { return string.Join('\n', File.ReadLines(Log).TakeLast(lines)); }
        catch (IOException) { return ""; }
    }

    /// <summary>Polls <paramref name="ready"/> until true; throws, with the log's tail, if the process exits first or 120 s pass.</summary>
    public async Task WaitUntilReadyAsync(string readiness, Func<Task<bool>> ready, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        while (!await ready())
        {
            if (HasExited)
                throw new InvalidOperationException($"{Name} exited during start-up; its log {Log} ends:\n{LogTail()}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(120))
                throw new TimeoutException($"{Name} did not {readiness} within 120 s; its log {Log} ends:\n{LogTail()}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>kill -9: no shutdown code runs, unacknowledged messages go back to their queues.</summary>
    public async Task KillAsync()
    {
        Killed = true;
        var process = _process;
        if (process.HasExited) return;
        process.Kill(); // SIGKILL on Unix
        await process.WaitForExitAsync();
    }

    public async Task StopAsync()
    {
        _stopping = true;
        var process = _process;
        if (process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }
}
