using System.Diagnostics;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Bench;

/// <summary>
/// Issue 19's batches (<c>--only batch</c>): after a warm-up batch, N no-op .NET tasks (default 20,000) go through
/// <c>ITaskClient.SendTasksAsync</c> in calls of <see cref="SubmitTaskBatch.MaxTasks"/> (one confirmed send each), a few calls in
/// flight. Acceptance: N ÷ the time until every send was confirmed (the tasks are durable on the broker then). End to end:
/// N ÷ the time until all are SUCCESS in the tasks table; latency from the rows' created_at/finished_at, as the (2) row's.
/// </summary>
public static class BatchBench
{
    /// <summary>Calls of SendTasksAsync awaiting their confirms at once.</summary>
    const int InFlight = 4;

    public static async Task<PathResult> RunAsync(TaskHubSystem system, BenchOptions o, CancellationToken cancellationToken)
    {
        var client = system.Client;
        var noop = TaskSignature.Create("Noop");
        var warm = await client.SendTasksAsync(Enumerable.Repeat(noop, o.Warmup), null, cancellationToken);
        await WaitForAsync(system, DateTimeOffset.MinValue, warm.Count, TimeSpan.FromMinutes(2), cancellationToken);
        system.CountSubmitted(warm.Count);

        var from = DateTimeOffset.UtcNow;
        var cpu = new CpuMeter(system.Scheduler.Pid, system.Worker.Pid);
        await using var rss = new RssSampler(system.Scheduler.Pid, system.Worker.Pid);
        var clock = Stopwatch.StartNew();
        var chunks = Enumerable.Range(0, o.Tasks).Chunk(SubmitTaskBatch.MaxTasks).Select(c => c.Length).ToList();
        var sent = 0;
        var sending = Windowed.RunAsync(chunks.Count, InFlight, async i =>
        {
            await client.SendTasksAsync(Enumerable.Repeat(noop, chunks[i]), null, cancellationToken);
            Interlocked.Add(ref sent, chunks[i]);
        }, cancellationToken);
        var succeeded = 0;
        await using (new Progress("batch", o.Tasks, () => (sent, succeeded)))
        {
            await sending;
            var accepted = clock.Elapsed;
            succeeded = await WaitForAsync(system, from, o.Tasks, TimeSpan.FromMinutes(8), cancellationToken, n => succeeded = n);
            var seconds = clock.Elapsed.TotalSeconds;
            var used = cpu.Stop();
            var peak = await rss.StopAsync();
            system.CountSubmitted(o.Tasks);
            var latency = await Latency.QueryAsync(system.Services.Db, "tasks", "current_state", "Succeeded", from);
            return new PathResult("(7) TaskHub .NET batches (SendTasksAsync)", o.Tasks, seconds, latency, used, peak[0], peak[1],
                $"{o.Tasks} no-op tasks in {chunks.Count} SendTasksAsync calls of up to {SubmitTaskBatch.MaxTasks} ({InFlight} in flight): " +
                $"accepted (all sends confirmed) in {accepted.TotalSeconds:0.00} s = {o.Tasks / accepted.TotalSeconds:0} tasks/s; " +
                $"all SUCCESS in {seconds:0.00} s = {o.Tasks / seconds:0} tasks/s end to end");
        }
    }

    /// <summary>Waits until <paramref name="count"/> tasks created since <paramref name="from"/> have succeeded; returns how many have.</summary>
    static async Task<int> WaitForAsync(TaskHubSystem system, DateTimeOffset from, int count, TimeSpan timeout, CancellationToken cancellationToken,
        Action<int>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var poll = new CompletionPoll(count);
        while (true)
        {
            await using var command = system.Services.Db.CreateCommand("SELECT count(*) FROM tasks WHERE current_state = 'Succeeded' AND created_at >= $1");
            command.Parameters.AddWithValue(from);
            var done = (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
            progress?.Invoke(done);
            if (done >= count)
                return done;
            system.Services.ThrowIfExited();
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"batch: only {done} of {count} tasks succeeded within {timeout}");
            await Task.Delay(poll.Next(done), cancellationToken);
        }
    }
}
