using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Tasks;
using TaskHub.Scheduler.Tasks;

namespace TaskHub.Tests.Unit;

/// <summary>The task state machine alone, on MassTransit's in-memory test harness.</summary>
public sealed class TaskStateMachineTests : IAsyncLifetime
{
    ServiceProvider _provider = null!;
    ITestHarness _harness = null!;
    ISagaStateMachineTestHarness<TaskStateMachine, TaskState> _saga = null!;
    readonly DateTimeOffset _t0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public async Task InitializeAsync()
    {
        _provider = new ServiceCollection()
            .AddSingleton(Options.Create(new AsyncTaskOptions { DefaultQueue = "default-q", ResultsExpireIn = 60 }))
            .AddMassTransitTestHarness(x => x.AddSagaStateMachine<TaskStateMachine, TaskState>().InMemoryRepository())
            .BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
        await _harness.Start();
        _saga = _harness.GetSagaStateMachineHarness<TaskStateMachine, TaskState>();
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
    }

    async Task<TaskState> Submit(Guid id, string? queue = null)
    {
        await _harness.Bus.Publish(new SubmitTask(id, TaskSignature.Create("Job", 1), queue, null, _t0));
        Assert.NotNull(await _saga.Exists(id, m => m.Waiting));
        return _saga.Sagas.Contains(id);
    }

    async Task<TaskState> Settle(Guid id, Func<TaskStateMachine, State> state)
    {
        Assert.NotNull(await _saga.Exists(id, state));
        await _harness.InactivityTask;
        return _saga.Sagas.Contains(id);
    }

    [Fact]
    public async Task Submission_waits_and_sends_the_task_to_its_queue()
    {
        var id = NewId.NextGuid();
        var task = await Submit(id);

        Assert.Equal("Job", task.Name);
        Assert.Equal("default-q", task.Queue);
        Assert.Equal(_t0, task.CreatedAt);
        Assert.True(await _harness.Sent.Any<ExecuteTask>(m => m.Context.Message.TaskId == id && m.Context.DestinationAddress!.AbsolutePath.EndsWith("default-q")));
    }

    [Fact]
    public async Task Started_then_succeeded_records_the_response_and_stamps_expiry()
    {
        var id = NewId.NextGuid();
        await Submit(id, "own-q");
        await _harness.Bus.Publish(new TaskStarted(id, 1, _t0.AddSeconds(1), _t0.AddMinutes(5)));
        var running = await Settle(id, m => m.Running);
        Assert.Equal(_t0.AddMinutes(5), running.Deadline);

        await _harness.Bus.Publish(new TaskSucceeded(id, 1, "{\"ok\":true}", _t0.AddSeconds(2)));
        var done = await Settle(id, m => m.Succeeded);

        Assert.Equal("{\"ok\":true}", done.Response);
        Assert.Equal(_t0.AddSeconds(1), done.StartedAt);
        Assert.Equal(_t0.AddSeconds(2), done.FinishedAt);
        Assert.Equal(_t0.AddSeconds(62), done.ExpiresAt);
        Assert.Null(done.Deadline);
        Assert.Equal(TaskStatuses.Success, TaskStatuses.FromSagaState(done.CurrentState));
    }

    [Fact]
    public async Task A_finished_task_ignores_late_and_duplicate_events()
    {
        var id = NewId.NextGuid();
        await Submit(id);
        await _harness.Bus.Publish(new TaskSucceeded(id, 1, "1", _t0.AddSeconds(2)));
        await Settle(id, m => m.Succeeded);

        await _harness.Bus.Publish(new TaskFailed(id, 2, "late failure", _t0.AddSeconds(3)));
        await _harness.Bus.Publish(new TaskSucceeded(id, 1, "2", _t0.AddSeconds(4)));
        await _harness.Bus.Publish(new TaskStarted(id, 3, _t0.AddSeconds(5), _t0.AddMinutes(5)));
        await _harness.Bus.Publish(new SubmitTask(id, TaskSignature.Create("Job", 1), null, null, _t0));
        var task = await Settle(id, m => m.Succeeded);

        Assert.Equal("1", task.Response);
        Assert.Null(task.Error);
        Assert.Equal(_t0.AddSeconds(2), task.FinishedAt);
        Assert.Equal(1, await _harness.Sent.SelectAsync<ExecuteTask>(m => m.Context.Message.TaskId == id).Count());
    }

    [Fact]
    public async Task Progress_keeps_the_newest_report_and_never_moves_a_finished_task()
    {
        var id = NewId.NextGuid();
        await Submit(id);
        await _harness.Bus.Publish(new TaskProgressed(id, 5, 10, "five", _t0.AddSeconds(5)));
        await _harness.Bus.Publish(new TaskProgressed(id, 3, 10, "three (older)", _t0.AddSeconds(3)));
        await _harness.Bus.Publish(new TaskFailed(id, 1, "broke", _t0.AddSeconds(6)));
        await _harness.Bus.Publish(new TaskProgressed(id, 9, 10, "after the end", _t0.AddSeconds(7)));
        var task = await Settle(id, m => m.Failed);

        Assert.Equal((5, 10, "five"), (task.Current, task.Total, task.Message));
        Assert.Equal("broke", task.Error);
    }

    [Fact]
    public async Task Attempt_failures_count_attempts_and_keep_the_last_error()
    {
        var id = NewId.NextGuid();
        await Submit(id);
        await _harness.Bus.Publish(new TaskAttemptFailed(id, 1, "first", _t0.AddSeconds(1)));
        await _harness.Bus.Publish(new TaskAttemptFailed(id, 2, "second", _t0.AddSeconds(2)));
        await _harness.InactivityTask;
        await _harness.Bus.Publish(new TaskSucceeded(id, 3, null, _t0.AddSeconds(3)));
        var task = await Settle(id, m => m.Succeeded);

        Assert.Equal(3, task.Attempts);
        Assert.Null(task.Error);
    }

    [Fact]
    public async Task Events_for_an_unknown_task_are_discarded_not_faulted()
    {
        var id = NewId.NextGuid();
        await _harness.Bus.Publish(new TaskSucceeded(id, 1, null, _t0));
        await _harness.InactivityTask;

        Assert.Null(_saga.Sagas.Contains(id));
        Assert.False(await _harness.Published.Any<Fault<TaskSucceeded>>());
    }

    [Fact]
    public async Task A_progress_report_moves_a_waiting_task_to_running()
    {
        var id = NewId.NextGuid();
        await Submit(id);
        await _harness.Bus.Publish(new TaskProgressed(id, 1, 2, "half way", _t0.AddSeconds(1)));
        var task = await Settle(id, m => m.Running);

        Assert.Equal((1, 2, "half way"), (task.Current, task.Total, task.Message));
        Assert.Equal(_t0.AddSeconds(1), task.StartedAt);
        Assert.Null(task.Deadline); // no Worker deadline announced: the sweeper leaves it to the Worker's report
    }

    [Fact]
    public async Task A_cancelled_task_ignores_what_its_run_reports_and_tells_the_workers()
    {
        var id = NewId.NextGuid();
        await Submit(id);
        await _harness.Bus.Publish(new TaskStarted(id, 2, _t0.AddSeconds(1), _t0.AddMinutes(5)));
        await Settle(id, m => m.Running);
        await _harness.Bus.Publish(new CancelTask(id, "ops", _t0.AddSeconds(2)));
        await Settle(id, m => m.Cancelled);

        await _harness.Bus.Publish(new TaskSucceeded(id, 2, "\"late\"", _t0.AddSeconds(3)));
        await _harness.Bus.Publish(new CancelTask(id, "ops", _t0.AddSeconds(4)));
        var task = await Settle(id, m => m.Cancelled);

        Assert.Null(task.Response);
        Assert.Equal("cancelled by ops", task.Error);
        Assert.Equal(_t0.AddSeconds(2), task.FinishedAt);
        Assert.Equal(TaskStatuses.Cancelled, TaskStatuses.FromSagaState(task.CurrentState));
        Assert.Equal(TaskStatuses.Failure, TaskStatuses.InSeedWords(TaskStatuses.FromSagaState(task.CurrentState)));
        // The harness records a publish after the saga's state is visible, and on a loaded machine later than one
        // quiet period of its own: ask again until it has it (or 15 s pass), then count.
        var until = DateTime.UtcNow.AddSeconds(15);
        while (!await _harness.Published.Any<TaskCancelled>(m => m.Context.Message.TaskId == id) && DateTime.UtcNow < until)
            await Task.Delay(100);
        var cancelled = Assert.Single(await _harness.Published.SelectAsync<TaskCancelled>(m => m.Context.Message.TaskId == id).ToListAsync());
        Assert.Equal((1, 2), (cancelled.Context.Message.FromAttempt, cancelled.Context.Message.ToAttempt));
    }

    [Fact]
    public async Task A_retry_starts_a_run_past_the_last_attempt_and_ignores_the_old_runs_reports()
    {
        var id = NewId.NextGuid();
        await _harness.Bus.Publish(new SubmitTask(id, TaskSignature.Create("Job", 7), null, new TaskPolicy(Attempts: 2, TimeoutMs: 500), _t0));
        await Settle(id, m => m.Waiting);
        await _harness.Bus.Publish(new TaskFailed(id, 2, "broke", _t0.AddSeconds(1)));
        await Settle(id, m => m.Failed);
        await _harness.Bus.Publish(new TaskSucceeded(id, 1, "\"never\"", _t0.AddSeconds(2)));
        await _harness.Bus.Publish(new RetryTask(id, "ops", _t0.AddSeconds(3)));
        var waiting = await Settle(id, m => m.Waiting);

        Assert.Equal(3, waiting.RunFrom);
        Assert.Null(waiting.Error);
        Assert.Null(waiting.FinishedAt);
        var run = Assert.Single(System.Text.Json.JsonSerializer.Deserialize<TaskRun[]>(waiting.Runs!)!);
        Assert.Equal(new TaskRun(TaskStatuses.Failure, 1, 2, "broke", _t0.AddSeconds(1), _t0.AddSeconds(1)), run);
        var resent = (await _harness.Sent.SelectAsync<ExecuteTask>(m => m.Context.Message.TaskId == id).ToListAsync()).Last().Context.Message;
        Assert.Equal(3, resent.Attempt);
        Assert.Equal(new TaskPolicy(Attempts: 2, TimeoutMs: 500), resent.Policy);
        Assert.Equal(7, resent.Signature.Args[0].Value.GetInt32());

        // A late report of the first run is not the second run's outcome; the second run's is.
        await _harness.Bus.Publish(new TaskSucceeded(id, 2, "\"stale\"", _t0.AddSeconds(4)));
        await _harness.Bus.Publish(new RetryTask(id, "ops", _t0.AddSeconds(4)));
        Assert.Equal("Waiting", (await Settle(id, m => m.Waiting)).CurrentState);
        await _harness.Bus.Publish(new TaskSucceeded(id, 3, "\"fresh\"", _t0.AddSeconds(5)));
        var done = await Settle(id, m => m.Succeeded);
        Assert.Equal("\"fresh\"", done.Response);
        Assert.Equal(3, done.Attempts);
    }
}
