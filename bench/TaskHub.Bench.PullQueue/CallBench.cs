using System.Diagnostics;

namespace TaskHub.Bench.PullQueue;

/// <summary>
/// /task/call round trips, one at a time, each a new id answered by one consumer long-polling the
/// queue: call → put → wake-up → consumer's peek → acquire → reply → wake-up → call returns.
/// </summary>
public sealed class CallBench(PullQueueHttp api, int warmUpCalls, int calls)
{
    /// <summary>The calls' latencies in ms, sorted; stops early after <paramref name="until"/>, if given.</summary>
    public async Task<double[]> RunAsync(TimeSpan? until = null)
    {
        var deadline = Stopwatch.StartNew();
        var queue = $"bench-call-{Guid.NewGuid():N}";
        using var stop = new CancellationTokenSource();
        var consumer = Task.Run(() => ConsumeAsync(queue, stop.Token));
        var payload = new byte[256];
        var latencies = new List<double>(Math.Min(calls, 4096));
        for (var i = 0; i < warmUpCalls + calls && (until is null || deadline.Elapsed < until); i++)
        {
            var clock = Stopwatch.StartNew();
            var answer = await api.PostAsync("call", new { queue, id = $"c{i}", info = new { i }, content = Convert.ToBase64String(payload), timeout = 10 });
            var elapsed = clock.Elapsed.TotalMilliseconds;
            if (answer.GetProperty("err_code").GetString() != "0000")
                throw new InvalidOperationException($"call c{i} timed out");
            if (i >= warmUpCalls)
                latencies.Add(elapsed);
        }
        await stop.CancelAsync();
        try
        {
            await consumer;
        }
        catch (OperationCanceledException)
        {
        }
        await api.ClearAsync(queue);
        return [.. latencies.Order()];
    }

    async Task ConsumeAsync(string queue, CancellationToken cancellationToken)
    {
        var result = new byte[256];
        while (!cancellationToken.IsCancellationRequested)
        {
            var ids = await api.PeekAsync(queue, 16, timeout: 5, cancellationToken);
            if (ids.Length == 0)
                continue;
            foreach (var (id, lease) in await api.AcquireAsync(queue, ids, cancellationToken))
                await api.ReplyAsync(queue, id, lease, new { ok = true }, result, cancellationToken);
        }
    }

    public static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
}
