using System.Diagnostics;

namespace TaskHub.Bench.PullQueue;

/// <summary>
/// Consumers sharing one queue, each looping put → peek (up to one task per consumer) → acquire →
/// reply. A cycle is one task replied; two consumers that peeked the same task race for it and one
/// of them acquires nothing, as real consumers of one queue do. Beside them, over the measured
/// seconds, one client makes <c>/task/call</c> round trips one at a time on a queue of its own
/// (<see cref="CallBench"/>), the latency a caller sees while the queue is busy.
/// </summary>
public sealed class CycleBench(PullQueueHttp api, int consumers, TimeSpan warmUp, TimeSpan measured)
{
    public sealed record Result(long Cycles, double PerSecond, double RequestsPerSecond, double[] CallLatencies, double CallsPerSecond);

    /// <summary>The queue's name; a new one per run unless the caller has prepared one (<see cref="NewQueue"/>).</summary>
    public static string NewQueue() => $"bench-cycles-{Guid.NewGuid():N}";

    public async Task<Result> RunAsync(string? queue = null)
    {
        queue ??= NewQueue();
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
        var calls = await new CallBench(api, warmUpCalls: 0, calls: int.MaxValue).RunAsync(measured);
        await Task.WhenAll(workers);
        var seconds = (clock.Elapsed - started).TotalSeconds;
        await api.ClearAsync(queue);
        await api.ClearAsync(queue + "-result");
        return new Result(cycles, cycles / seconds, (requests + calls.Length) / seconds, calls, calls.Length / measured.TotalSeconds);
    }
}
