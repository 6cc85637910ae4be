using System.Diagnostics;

namespace TaskHub.Testing;

/// <summary>
/// A Scheduler, Worker or Api run as its own process (<c>dotnet X.dll</c>, as in production), its
/// output in a log file. Stopped with SIGTERM, or killed with SIGKILL as a fault. One source for the
/// benchmark and the fault tests, linked into both projects.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    readonly Process _process;

    ServiceProcess(string name, Process process, string log)
    {
        Name = name;
        _process = process;
        Log = log;
    }

    public string Name { get; }
    public string Log { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    /// <summary>True once the test killed it on purpose: its exit is not a failure.</summary>
    public bool Killed { get; private set; }

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
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        return new ServiceProcess(name, process, log);
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
        if (_process.HasExited) return;
        _process.Kill(); // SIGKILL on Unix
        await _process.WaitForExitAsync();
    }

    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }
}
