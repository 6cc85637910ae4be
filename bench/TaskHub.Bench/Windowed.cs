using System.Diagnostics;

namespace TaskHub.Bench;

/// <summary>How every bench submits: <c>count</c> sends in index order, at most <c>inFlight</c> of them at once.</summary>
public static class Windowed
{
    /// <summary>Runs <paramref name="send"/>(0 … count − 1); answers the time from the first start to the last end.</summary>
    public static async Task<TimeSpan> RunAsync(int count, int inFlight, Func<int, Task> send, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var window = new SemaphoreSlim(inFlight);
        var pending = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            await window.WaitAsync(cancellationToken);
            pending.Add(SendAndRelease(i));
        }
        await Task.WhenAll(pending);
        return clock.Elapsed;

        async Task SendAndRelease(int i)
        {
            try { await send(i); }
            finally { window.Release(); }
        }
    }
}
