using System.Runtime.InteropServices;

namespace TaskHub.Bench;

/// <summary>CPU time and memory of processes, from /proc (Linux).</summary>
public static class ProcStats
{
    /// <summary>USER_HZ: the unit of the times in /proc/&lt;pid&gt;/stat (100 on Linux everywhere we run).</summary>
    const double TicksPerSecond = 100.0;

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    const int SigStop = 19, SigCont = 18;

    /// <summary>Stops the processes (SIGSTOP) until the answer is disposed (SIGCONT): what they would do waits, nothing is lost.</summary>
    public static IDisposable Pause(params int[] pids)
    {
        foreach (var pid in pids)
            if (kill(pid, SigStop) != 0)
                throw new InvalidOperationException($"SIGSTOP of {pid} failed (errno {Marshal.GetLastWin32Error()})");
        return new Resume(pids);
    }

    sealed class Resume(int[] pids) : IDisposable
    {
        public void Dispose()
        {
            foreach (var pid in pids)
                kill(pid, SigCont);
        }
    }

    /// <summary>User + system CPU seconds of a process, including its reaped children (0 when it is gone).</summary>
    public static double CpuSeconds(int pid)
    {
        var f = StatFields(pid);
        if (f is null) return 0;
        // After "pid (comm) ": [0]=state ... [11]=utime [12]=stime [13]=cutime [14]=cstime
        return (long.Parse(f[11]) + long.Parse(f[12]) + long.Parse(f[13]) + long.Parse(f[14])) / TicksPerSecond;
    }

    /// <summary>Total CPU seconds of every process with this command name (e.g. all of PostgreSQL's, or RabbitMQ's beam.smp).</summary>
    public static double CpuSecondsOfCommand(string command)
    {
        double total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (open < 0 || close < open || stat[(open + 1)..close] != command) continue;
                total += CpuSeconds(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return total;
    }

    /// <summary>Resident memory now (VmRSS) and its peak so far (VmHWM), in MiB; 0 when the process is gone.</summary>
    public static (double Rss, double Peak) Memory(int pid)
    {
        double rss = 0, peak = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kib(line) / 1024.0;
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kib(line) / 1024.0;
            }
        }
        catch (IOException) { }
        return (rss, peak);
    }

    public static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    static long Kib(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException) { return null; }
    }
}

/// <summary>CPU seconds of everything a path uses, taken at the start and the end of a measured phase.</summary>
public sealed class CpuMeter
{
    readonly int? _scheduler;
    readonly int? _worker;
    readonly double[] _start;

    public CpuMeter(int? scheduler = null, int? worker = null)
    {
        _scheduler = scheduler;
        _worker = worker;
        _start = Read();
    }

    double[] Read() =>
    [
        ProcStats.CpuSeconds(Environment.ProcessId),
        _scheduler is { } s ? ProcStats.CpuSeconds(s) : 0,
        _worker is { } w ? ProcStats.CpuSeconds(w) : 0,
        ProcStats.CpuSecondsOfCommand("beam.smp"),
        ProcStats.CpuSecondsOfCommand("postgres"),
    ];

    public CpuUse Stop()
    {
        var end = Read();
        return new CpuUse(end[0] - _start[0], end[1] - _start[1], end[2] - _start[2], end[3] - _start[3], end[4] - _start[4]);
    }
}

/// <summary>CPU seconds: the bench process (client; for the baseline also its consumer), Scheduler, Worker, RabbitMQ, PostgreSQL (all of its processes).</summary>
public readonly record struct CpuUse(double Bench, double Scheduler, double Worker, double Broker, double Postgres)
{
    public double Total => Bench + Scheduler + Worker + Broker + Postgres;
}

/// <summary>Samples the resident memory of the spawned processes while a phase runs; VmHWM covers what sampling misses.</summary>
public sealed class RssSampler : IAsyncDisposable
{
    readonly int[] _pids;
    readonly double[] _max;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;

    public RssSampler(params int[] pids)
    {
        _pids = pids;
        _max = new double[pids.Length];
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Sample();
                try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    void Sample()
    {
        for (var i = 0; i < _pids.Length; i++)
            _max[i] = Math.Max(_max[i], ProcStats.Memory(_pids[i]).Rss);
    }

    /// <summary>Peak RSS in MiB of each process during the phase.</summary>
    public async Task<double[]> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Sample();
        return (double[])_max.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        _stop.Dispose();
    }
}
