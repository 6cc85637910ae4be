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
