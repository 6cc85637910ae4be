using System.Collections.Concurrent;

namespace TaskHub.Worker.Operations;

/// <summary>
/// The runs this Worker has under way, so an operator's cancel reaches the one running the task, and the
/// tasks cancelled lately, so a work message of a cancelled task still in a queue is dropped when it comes.
/// In memory: a Worker started after the cancel knows neither (that message runs, and its report is
/// ignored by the saga), which the fence narrows for redelivered and stored-retry messages.
/// </summary>
public sealed class RunningTasks(TimeProvider time)
{
    /// <summary>How long a cancel is remembered for messages still queued.</summary>
    static readonly TimeSpan RememberCancels = TimeSpan.FromHours(1);

    readonly ConcurrentDictionary<Guid, CancellationTokenSource> _runs = new();
    readonly ConcurrentDictionary<Guid, CancelledRun> _cancelled = new();

    readonly record struct CancelledRun(int FromAttempt, int ToAttempt, DateTimeOffset At)
    {
        public bool Covers(int attempt) => attempt >= FromAttempt && attempt <= ToAttempt;
    }

    /// <summary>Runs under way here (the heartbeat's in-flight count).</summary>
    public int Count => _runs.Count;

    /// <summary>Starts a run of the task from <paramref name="attempt"/>: the token fires when an operator cancels it. Dispose the result when the run ends.</summary>
    public Run Start(Guid taskId, int attempt)
    {
        var source = new CancellationTokenSource();
        _runs[taskId] = source;
        // A cancel that came between the check and this start.
        if (WasCancelled(taskId, attempt))
            source.Cancel();
        return new Run(this, taskId, source);
    }

    /// <summary>Whether a work message starting at <paramref name="attempt"/> belongs to a run that was cancelled.</summary>
    public bool WasCancelled(Guid taskId, int attempt) => _cancelled.TryGetValue(taskId, out var cancel) && cancel.Covers(attempt);

    public void Cancel(TaskHub.Contracts.Messages.TaskCancelled cancelled)
    {
        var now = time.GetUtcNow();
        _cancelled[cancelled.TaskId] = new CancelledRun(cancelled.FromAttempt, cancelled.ToAttempt, now);
        if (_runs.TryGetValue(cancelled.TaskId, out var run))
            run.Cancel();
        foreach (var (id, cancel) in _cancelled)
            if (now - cancel.At > RememberCancels)
                _cancelled.TryRemove(id, out _);
    }

    public sealed class Run(RunningTasks owner, Guid taskId, CancellationTokenSource source) : IDisposable
    {
        public CancellationToken Cancelled => source.Token;

        public void Dispose()
        {
            ((ICollection<KeyValuePair<Guid, CancellationTokenSource>>)owner._runs).Remove(new(taskId, source));
            source.Dispose();
        }
    }
}

/// <summary>Thrown where an attempt ends because an operator cancelled its task: nothing is reported, the saga has its outcome.</summary>
public sealed class TaskCancelledByOperatorException() : OperationCanceledException("the task was cancelled");
