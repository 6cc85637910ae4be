using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Transport;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Waiting → Running → Succeeded | Failed. Events may arrive twice (at-least-once delivery)
/// or out of order (the saga endpoint consumes concurrently); every transition is therefore
/// idempotent and a finished task ignores whatever still comes.
/// </summary>
public sealed class TaskStateMachine : MassTransitStateMachine<TaskState>
{
    public State Waiting { get; private set; } = null!;
    public State Running { get; private set; } = null!;
    public State Succeeded { get; private set; } = null!;
    public State Failed { get; private set; } = null!;

    public Event<SubmitTask> Submitted { get; private set; } = null!;
    public Event<TaskStarted> Started { get; private set; } = null!;
    public Event<TaskProgressed> Progressed { get; private set; } = null!;
    public Event<TaskAttemptFailed> AttemptFailed { get; private set; } = null!;
    public Event<TaskSucceeded> Completed { get; private set; } = null!;
    public Event<TaskFailed> Faulted { get; private set; } = null!;
    /// <summary>The Worker could not even process the message (poison): the task fails instead of hanging.</summary>
    public Event<Fault<ExecuteTask>> ExecutionFaulted { get; private set; } = null!;

    public TaskStateMachine(IOptions<AsyncTaskOptions> options)
    {
        var settings = options.Value;
        var keepResults = TimeSpan.FromSeconds(settings.ResultsExpireIn);

        InstanceState(x => x.CurrentState);

        Event(() => Submitted, e => e.CorrelateById(m => m.Message.TaskId));
        Event(() => Started, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Progressed, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => AttemptFailed, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Completed, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Faulted, e => { e.CorrelateById(m => m.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => ExecutionFaulted, e => { e.CorrelateById(m => m.Message.Message.TaskId); e.OnMissingInstance(m => m.Discard()); });

        Initially(
            When(Submitted)
                .Then(c =>
                {
                    var m = c.Message;
                    c.Saga.Name = m.Signature.Name;
                    c.Saga.Args = JsonSerializer.Serialize(m.Signature.Args);
                    c.Saga.Queue = string.IsNullOrWhiteSpace(m.Queue) ? settings.DefaultQueue : m.Queue;
                    c.Saga.CreatedAt = m.SubmittedAt;
                })
                .Send(c => TaskHubBus.QueueAddress(c.Saga.Queue),
                    c => new ExecuteTask(c.Saga.CorrelationId, c.Message.Signature, c.Message.Policy))
                .TransitionTo(Waiting));

        During(Waiting, Running,
            Ignore(Submitted),
            When(Started)
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempt);
                    c.Saga.StartedAt ??= c.Message.StartedAt;
                    c.Saga.Deadline = c.Message.Deadline;
                })
                .TransitionTo(Running),
            When(Progressed).Then(c => RecordProgress(c.Saga, c.Message)),
            When(AttemptFailed)
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempt);
                    c.Saga.Error = c.Message.Error;
                }),
            When(Completed)
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempt);
                    c.Saga.Response = c.Message.Response;
                    c.Saga.Error = null;
                    Finish(c.Saga, c.Message.FinishedAt, keepResults);
                })
                .TransitionTo(Succeeded),
            When(Faulted)
                .Then(c =>
                {
                    c.Saga.Attempts = Math.Max(c.Saga.Attempts, c.Message.Attempts);
                    c.Saga.Error = c.Message.Error;
                    Finish(c.Saga, c.Message.FinishedAt, keepResults);
                })
                .TransitionTo(Failed),
            When(ExecutionFaulted)
                .Then(c =>
                {
                    var reason = c.Message.Exceptions.FirstOrDefault();
                    c.Saga.Error = $"worker could not process the task: {reason?.ExceptionType}: {reason?.Message}";
                    Finish(c.Saga, c.Message.Timestamp, keepResults);
                })
                .TransitionTo(Failed));

        During(Succeeded, Failed,
            // A report made before the finish may be consumed after it: it is recorded, the state stays.
            When(Progressed, c => c.Message.At <= c.Saga.FinishedAt).Then(c => RecordProgress(c.Saga, c.Message)),
            Ignore(Progressed, c => c.Message.At > c.Saga.FinishedAt),
            Ignore(Submitted),
            Ignore(Started),
            Ignore(AttemptFailed),
            Ignore(Completed),
            Ignore(Faulted),
            Ignore(ExecutionFaulted));
    }

    /// <summary>Progress events may overtake each other; the newest report wins.</summary>
    static void RecordProgress(TaskState task, TaskProgressed progress)
    {
        if (task.ProgressAt is not null && progress.At < task.ProgressAt)
            return;
        task.Current = progress.Current;
        task.Total = progress.Total;
        task.Message = progress.Message;
        task.ProgressAt = progress.At;
    }

    static void Finish(TaskState task, DateTimeOffset at, TimeSpan keepResults)
    {
        task.StartedAt ??= at;
        task.FinishedAt = at;
        task.Deadline = null;
        task.ExpiresAt = at + keepResults;
    }
}
