using System.Text.Json;
using TaskHub.Contracts.Tasks;
using TaskHub.FaultTests.Infrastructure;
using Xunit.Abstractions;

namespace TaskHub.FaultTests;

/// <summary>
/// Issue 13: under a load of <see cref="FaultRun.TaskCount"/> mixed tasks, one fault at the middle,
/// then every accepted task must end SUCCESS or FAILURE (with its error), every /task/new callback
/// arrive exactly once, every group of parallels 1 have at most one task in flight, and /health
/// tell the truth about the broker and the database. Each test starts a whole TaskHub of its own
/// (processes, vhost, database) on the class's private stack, and prints one summary line.
/// </summary>
public sealed class FaultTests(PrivateStack stack, ITestOutputHelper output) : IClassFixture<PrivateStack>
{
    /// <summary>The harness itself: with no fault every promise holds.</summary>
    [Fact]
    public Task No_fault() => RunAsync("no_fault", _ => Task.FromResult(""), expectHealthDip: false);

    /// <summary>Killed while a callback delivery is in the receiver's hands (delivered, not yet answered), with the load in full flow.</summary>
    [Fact]
    public Task Scheduler_killed_with_sigkill_mid_delivery_and_restarted() =>
        RunAsync("scheduler_kill", system => system.KillAndRestartSchedulerAsync(
            kill => _peer.DuringNextCallbackAsync(kill, TimeSpan.FromSeconds(5))), expectHealthDip: false);

    /// <summary>Killed while a grouped callee call is in the callee's hands (called, not yet answered): a task mid-run.</summary>
    [Fact]
    public Task Worker_killed_with_sigkill_mid_call_and_restarted() =>
        RunAsync("worker_kill", system => system.KillAndRestartWorkerAsync(
            kill => _peer.DuringNextGroupedCallAsync(kill, TimeSpan.FromSeconds(5))), expectHealthDip: false);

    /// <summary>kill -9 of the broker's VM, 2 s down, then started again (~10 s without a broker).</summary>
    [Fact]
    public Task RabbitMq_killed_with_sigkill_and_restarted() =>
        RunAsync("rabbitmq_kill", async _ =>
        {
            await stack.KillRabbitMqAsync(downSeconds: 2);
            return "kill -9 of the broker, 2 s down, started again";
        }, expectHealthDip: true);

    /// <summary>pg_ctl stop -m fast, 5 s down, started again.</summary>
    [Fact]
    public Task PostgreSql_restarted() =>
        RunAsync("postgres_restart", async _ =>
        {
            await stack.RestartPostgresAsync(downSeconds: 5);
            return "pg_ctl stop -m fast, 5 s down, started again";
        }, expectHealthDip: true);

    /// <summary>
    /// Issue 18: a chord of 100 (10 running at once) whose only Scheduler is killed with SIGKILL once 30 members succeeded,
    /// then restarted. The workflow saga's state and its members' finishes are in PostgreSQL and its sends in the outbox:
    /// the callback runs once, with all 100 results in member order.
    /// </summary>
    [Fact]
    public async Task Scheduler_killed_with_sigkill_mid_chord_and_restarted()
    {
        await stack.EnsureUpAsync();
        await using var system = await TaskHubSystem.StartAsync(stack, "faults_chord_kill", LogDirectory());
        var sleeps = Enumerable.Range(0, 100).Select(n => 200 + n % 5 * 50).ToArray();
        var chord = await system.Client.SendChordAsync(sleeps.Select(ms => TaskSignature.Create("Sleep", ms)), TaskSignature.Create("Collect"),
            sendConcurrency: 10);
        string Count(string state) =>
            $"SELECT count(*) FROM tasks WHERE workflow_id = '{chord.WorkflowId}' AND current_state = '{state}'";
        await Eventually(() => system.CountAsync(Count("Succeeded")), n => n >= 30, TimeSpan.FromSeconds(60), "30 members to succeed");

        var fault = await system.KillAndRestartSchedulerAsync();

        var callback = await system.Client.WaitForResultAsync(chord.CallbackId!.Value, TimeSpan.FromSeconds(120));
        var line = $"[fault-tests] chord_scheduler_kill: {fault}; callback {callback.Status} after {callback.Attempts} attempt(s)";
        Print(line);
        Assert.True(callback.Status == TaskStatuses.Success, $"{line}: {callback.Error}\n{system.LogTails()}");
        Assert.Equal(1, callback.Attempts);
        var results = JsonDocument.Parse(callback.Response!).RootElement.EnumerateArray().Select(r => r.GetProperty("slept").GetInt32()).ToArray();
        Assert.Equal(sleeps, results);
        Assert.Equal(101, await system.CountAsync(Count("Succeeded")));
        Assert.Equal(101, await system.CountAsync($"SELECT count(*) FROM tasks WHERE workflow_id = '{chord.WorkflowId}'"));
        Assert.Equal(1, await system.CountAsync($"SELECT count(*) FROM workflows WHERE id = '{chord.WorkflowId}' AND current_state = 'Succeeded'"));
    }

    static async Task Eventually(Func<Task<long>> probe, Func<long, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        long last;
        while (!condition(last = await probe()))
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}; last seen: {last}");
            await Task.Delay(100);
        }
    }

    LoopbackPeer _peer = null!;

    async Task RunAsync(string fault, Func<TaskHubSystem, Task<string>> injectFault, bool expectHealthDip)
    {
        await stack.EnsureUpAsync();
        var logs = LogDirectory();
        await using var peer = _peer = await LoopbackPeer.StartAsync();
        await using var system = await TaskHubSystem.StartAsync(stack, $"faults_{fault}", logs);
        FaultReport report;
        try
        {
            report = await new FaultRun(system, peer).RunAsync(fault, () => injectFault(system), expectHealthDip);
        }
        catch (Exception e)
        {
            Print($"[fault-tests] {fault}: HARNESS ERROR {e.GetType().Name}: {e.Message}");
            output.WriteLine(system.LogTails());
            throw;
        }
        var problems = report.Problems();
        Print(report.Summary());
        if (report.FailureErrors() is { Length: > 0 } errors) Print($"[fault-tests] {fault}: {errors}");
        foreach (var problem in problems) Print($"[fault-tests] {fault}: PROBLEM: {problem}");
        if (problems.Count > 0)
            output.WriteLine(system.LogTails());
        Assert.True(problems.Count == 0, $"{report.Summary()}\n{string.Join("\n", problems.Select(p => "- " + p))}");
    }

    void Print(string line)
    {
        output.WriteLine(line);
        Console.WriteLine(line);
        // test.sh prints this file after the run, so the summaries show without a verbose logger.
        try { File.AppendAllText(Path.Combine(LogDirectory(), "summary.txt"), line + "\n"); } catch (IOException) { }
    }

    /// <summary>Service logs and summary.txt: TASKHUB_FAULTS_LOG_DIR (test.sh: TestResults/faults), else /tmp/taskhub-faults.</summary>
    static string LogDirectory()
    {
        var dir = Environment.GetEnvironmentVariable("TASKHUB_FAULTS_LOG_DIR") is { Length: > 0 } d ? d : "/tmp/taskhub-faults";
        Directory.CreateDirectory(dir);
        return dir;
    }
}
