using System.Diagnostics;

namespace TaskHub.Bench.PullQueue;

/// <summary>
/// /task/call round trips, one at a time, each a new id answered by one consumer long-polling the
/// queue: call → put → notification → consumer's peek → acquire → reply → notification → call returns.
/// </summary>
public sealed class CallBench(PullQueueHttp api, int warmUpCalls, int calls)
{
    public async Task<double[]> RunAsync()
    {
        var queue = $"bench-call-{Guid.NewGuid():N}";
        using var stop = new CancellationTokenSource();
        var consumer = Task.Run(() => ConsumeAsync(queue, stop.Token));
        var payload = new byte[256];
        var latencies = new List<double>(calls);
        for (var i = 0; i < warmUpCalls + calls; i++)
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
