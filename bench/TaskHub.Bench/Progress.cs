using System.Diagnostics;

namespace TaskHub.Bench;

/// <summary>
/// One status line per phase: submitted, done, rate. Rewritten in place on a terminal, one line every
/// two seconds when the output goes to a file or a pipe.
/// </summary>
public sealed class Progress : IAsyncDisposable
{
    readonly string _phase;
    readonly int _total;
    readonly Func<(int Submitted, int Done)> _read;
    readonly CancellationTokenSource _stop = new();
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly Task _loop;
    static readonly bool Terminal = !Console.IsOutputRedirected;

    public Progress(string phase, int total, Func<(int Submitted, int Done)> read)
    {
        _phase = phase;
        _total = total;
        _read = read;
        _loop = Task.Run(LoopAsync);
    }

    async Task LoopAsync()
    {
        var every = Terminal ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(2);
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(every, _stop.Token); } catch (OperationCanceledException) { break; }
            Print(final: false);
        }
    }

    void Print(bool final)
    {
        var (submitted, done) = _read();
        var seconds = _clock.Elapsed.TotalSeconds;
        var line = $"  {_phase,-26} submitted {submitted,7}/{_total}  done {done,7}  {done / Math.Max(seconds, 0.001),7:0}/s  {seconds,6:0.0}s";
        if (Terminal) Console.Write($"\r{line}{(final ? "\n" : "")}");
        else Console.WriteLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Print(final: true);
        _stop.Dispose();
    }
}

/// <summary>
/// How long to wait before counting the finished tasks again. The count scans the run's tasks table,
/// work that PostgreSQL bills to the path being measured (the baseline counts in memory), so it runs
/// rarely while the end is far: half the time the rest should take at the rate since the last count,
/// at most 1 s, down to every 20 ms near the end, which keeps the measured end within ~20 ms.
/// </summary>
public sealed class CompletionPoll(int total)
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    int _lastDone;
    TimeSpan _lastAt;

    public TimeSpan Next(int done)
    {
        var now = _clock.Elapsed;
        var rate = (done - _lastDone) / Math.Max((now - _lastAt).TotalSeconds, 0.001);
        (_lastDone, _lastAt) = (done, now);
        // Nothing finished since the last count: no rate to go by, so the old fixed 250 ms.
        var rest = rate > 0 ? (total - done) / rate : 0.5;
        return TimeSpan.FromSeconds(Math.Clamp(rest / 2, 0.02, 1.0));
    }
}
