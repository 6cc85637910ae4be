using System.Diagnostics;

namespace TaskHub.Bench;

/// <summary>
/// A Scheduler or Worker run as its own process (<c>dotnet X.dll</c>), so its CPU and memory can be
/// read from /proc/&lt;pid&gt;. Its output goes to a log file; it is stopped with SIGTERM.
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

    public static ServiceProcess Start(string name, string dll, IEnumerable<KeyValuePair<string, string>> environment, string log)
    {
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: build it first (dotnet build -c Release; bench/run.sh does)", dll);
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

    public string LogTail(int lines = 30)
    {
        try { return string.Join('\n', File.ReadLines(Log).TakeLast(lines)); }
        catch (IOException) { return ""; }
    }

    public (double Rss, double Peak) Memory() => ProcStats.Memory(Pid);

    /// <summary>
    /// Polls <paramref name="ready"/> until it answers true; throws, with the log's tail, if the process
    /// exits first or <paramref name="readiness"/> ("consume X", "answer /health") is not reached in 120 s.
    /// </summary>
    public async Task WaitUntilReadyAsync(string readiness, Func<Task<bool>> ready, CancellationToken cancellationToken)
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

    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        ProcStats.Terminate(_process.Id);
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
