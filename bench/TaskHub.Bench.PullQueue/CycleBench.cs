using System.Diagnostics;

namespace TaskHub.Bench.PullQueue;

/// <summary>
/// Consumers sharing one queue, each looping put → peek (up to one task per consumer) → acquire →
/// reply. A cycle is one task replied; two consumers that peeked the same task race for it and one
/// of them acquires nothing, as real consumers of one queue do.
/// </summary>
public sealed class CycleBench(PullQueueHttp api, int consumers, TimeSpan warmUp, TimeSpan measured)
{
    public async Task<(long Cycles, double PerSecond, double RequestsPerSecond)> RunAsync()
    {
        var queue = $"bench-cycles-{Guid.NewGuid():N}";
        var payload = new byte[256];
        Random.Shared.NextBytes(payload);
        long cycles = 0, requests = 0;
        var counting = false;
        var clock = Stopwatch.StartNew();
        var end = warmUp + measured;

        async Task ConsumeAsync(int consumer)
        {
            for (var n = 0; clock.Elapsed < end; n++)
            {
                await api.PutAsync(queue, $"{consumer}-{n}", new { consumer, n }, payload);
                var ids = await api.PeekAsync(queue, consumers, timeout: 1);
                var acquired = ids.Length == 0 ? [] : await api.AcquireAsync(queue, ids);
                foreach (var (id, lease) in acquired)
                    if (!await api.ReplyAsync(queue, id, lease, new { ok = true }, payload))
                        throw new InvalidOperationException($"reply to {id} under lease {lease} was refused");
                if (Volatile.Read(ref counting))
                {
                    Interlocked.Add(ref cycles, acquired.Length);
                    Interlocked.Add(ref requests, 2 + (ids.Length == 0 ? 0 : 1) + acquired.Length);
                }
            }
        }

        var workers = Enumerable.Range(0, consumers).Select(c => Task.Run(() => ConsumeAsync(c))).ToList();
        await Task.Delay(warmUp);
        Volatile.Write(ref counting, true);
        var started = clock.Elapsed;
        await Task.WhenAll(workers);
        var seconds = (clock.Elapsed - started).TotalSeconds;
        await api.ClearAsync(queue);
        await api.ClearAsync(queue + "-result");
        return (cycles, cycles / seconds, requests / seconds);
    }
}
