using System.Diagnostics;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Bench;

/// <summary>
/// Issue 18's priority figure (<c>--only priority</c>): with the Worker stopped, <see cref="BenchOptions.Tasks"/> priority-0
/// no-op tasks are queued, then one of priority 9; a Worker is started and the bench counts how many tasks started before
/// the priority-9 one (by <c>tasks.started_at</c>, once all ended).
/// </summary>
public static class PriorityBench
{
    public static async Task<string> RunAsync(TaskHubSystem system, BenchOptions o, CancellationToken cancellationToken)
    {
        var services = system.Services;
        await system.Worker.StopAsync();
        var clock = Stopwatch.StartNew();
        var backlog = TaskSignature.Create("Noop");
        foreach (var chunk in Enumerable.Range(0, o.Tasks).Chunk(200))
            await Task.WhenAll(chunk.Select(_ => system.Client.SendTaskAsync(backlog, null, cancellationToken)));
        var urgent = await system.Client.SendTaskAsync(backlog with { Priority = TaskSignature.MaxPriority }, null, cancellationToken);
        // Queued: every task recorded and every work message confirmed by the broker (the outbox emptied).
        while (await CountAsync(services, "SELECT count(*) FROM tasks") < o.Tasks + 1 || await CountAsync(services, "SELECT count(*) FROM outbox_messages") > 0)
            await Task.Delay(250, cancellationToken);
        var queued = clock.Elapsed;

        services.Start("Worker");
        var done = await system.Client.WaitForResultAsync(urgent, TimeSpan.FromMinutes(5), cancellationToken);
        var urgentAfter = clock.Elapsed - queued;
        while (await CountAsync(services, "SELECT count(*) FROM tasks WHERE current_state = 'Succeeded'") < o.Tasks + 1)
            await Task.Delay(500, cancellationToken);
        var allAfter = clock.Elapsed - queued;
        var before = await CountAsync(services,
            $"SELECT count(*) FROM tasks WHERE started_at < (SELECT started_at FROM tasks WHERE id = '{urgent}')");
        return $"priority: {done.Status}; the priority-9 task was started after {before} of the {o.Tasks} priority-0 tasks queued before it " +
               $"({urgentAfter.TotalSeconds:0.0} s after the Worker was started; the backlog took {allAfter.TotalSeconds:0.0} s; queueing it took {queued.TotalSeconds:0.0} s)";
    }

    static async Task<long> CountAsync(BenchServices services, string sql)
    {
        await using var command = services.Db.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
