using System.Diagnostics;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Bench;

/// <summary>
/// Issue 18's delayed-start figure (<c>--only eta</c>), measured like the timers' (4): after a warm-up of 500 tasks with a short
/// Eta, 1,000 no-op .NET tasks (200 with --smoke) are sent with <c>Eta = send time + 1000 + i*9 ms</c> (due within ~10 s). Lateness =
/// the task's <c>started_at</c> (the Worker's clock, this machine) − its Eta, from the tasks table once all succeeded; a task
/// started before its Eta counts as early, one with more than one attempt as twice.
/// </summary>
public static class EtaBench
{
    public static async Task<string> RunAsync(TaskHubSystem system, BenchOptions o, CancellationToken cancellationToken)
    {
        var count = o.Smoke ? 200 : 1000;
        var noop = TaskSignature.Create("Noop");
        var warm = await Task.WhenAll(Enumerable.Range(0, o.Smoke ? 20 : 500).Select(i =>
            system.Client.SendTaskAsync(noop with { Countdown = TimeSpan.FromMilliseconds(i * 2) }, null, cancellationToken)));
        foreach (var id in warm)
            await system.Client.WaitForResultAsync(id, TimeSpan.FromMinutes(1), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(o.Smoke ? 0 : 5), cancellationToken);
        var since = DateTimeOffset.UtcNow;

        var clock = Stopwatch.StartNew();
        var ids = new Guid[count];
        await Windowed.RunAsync(count, 16, async i =>
            ids[i] = await system.Client.SendTaskAsync(noop with { Eta = DateTimeOffset.UtcNow.AddMilliseconds(1000 + i * 9) }, null, cancellationToken),
            cancellationToken);
        var submitSeconds = clock.Elapsed.TotalSeconds;
        var services = system.Services;
        while (await ScalarAsync(services, $"SELECT count(*) FROM tasks WHERE start_at IS NOT NULL AND created_at >= '{since:O}' AND current_state = 'Succeeded'") < count
               && clock.Elapsed < TimeSpan.FromMinutes(2))
            await Task.Delay(250, cancellationToken);

        await using var command = services.Db.CreateCommand(
            "SELECT extract(epoch FROM started_at - start_at) * 1000, attempts FROM tasks WHERE start_at IS NOT NULL AND created_at >= $1 AND current_state = 'Succeeded'");
        command.Parameters.AddWithValue(since);
        var late = new List<double>();
        var twice = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
            {
                late.Add((double)reader.GetDecimal(0));
                if (reader.GetInt32(1) > 1) twice++;
            }
        late.Sort();
        double Pct(double p) => late.Count == 0 ? double.NaN : late[Math.Clamp((int)Math.Ceiling(p / 100 * late.Count) - 1, 0, late.Count - 1)];
        return $"eta: {late.Count} of {count} delayed tasks succeeded; start lateness (started_at − Eta) p50 {Pct(50):0} ms, p99 {Pct(99):0} ms, " +
               $"max {(late.Count > 0 ? late[^1] : double.NaN):0} ms, min {(late.Count > 0 ? late[0] : double.NaN):0} ms; " +
               $"{late.Count(l => l < 0)} early, {twice} with more than one attempt; sent in {submitSeconds:0.0} s (16 in flight), Eta = send + 1000 + i*9 ms";
    }

    static async Task<long> ScalarAsync(BenchServices services, string sql)
    {
        await using var command = services.Db.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
