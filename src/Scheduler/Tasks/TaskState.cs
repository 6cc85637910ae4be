using MassTransit;

namespace TaskHub.Scheduler.Tasks;

/// <summary>One task's life, persisted in <c>tasks</c>; see <see cref="TaskStateMachine"/>.</summary>
public class TaskState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>The signature's arguments as JSON, for inspection.</summary>
    public string Args { get; set; } = "[]";
    public string Queue { get; set; } = "";
    /// <summary>The signature's priority (0–9): every send of the task's work carries it, a retry's too.</summary>
    public short Priority { get; set; }
    /// <summary>The URL an HTTP task calls; null for a .NET task.</summary>
    public string? Callee { get; set; }
    /// <summary>Where the outcome is POSTed when the task finishes.</summary>
    public string? CallbackUrl { get; set; }
    /// <summary>The concurrency group the task waits its turn in.</summary>
    public string? GroupName { get; set; }
    /// <summary>The name of the API key that submitted the task; null for anonymous and bus producers.</summary>
    public string? Owner { get; set; }
    /// <summary>The W3C <c>traceparent</c> the submission was consumed in: the task's callback is delivered in that trace.</summary>
    public string? TraceParent { get; set; }
    /// <summary>The submission's policy override as JSON (null: none), kept so that a retry runs under it.</summary>
    public string? Policy { get; set; }
    /// <summary>An HTTP task's call (<c>HttpTask</c>) as JSON, kept so that a retry makes it again; null for a .NET task.</summary>
    public string? Http { get; set; }
    /// <summary>The signatures sent when the task succeeds, and when a run of it fails (<see cref="TaskSignature.OnSuccess"/>), as JSON; null: none.</summary>
    public string? OnSuccess { get; set; }
    public string? OnError { get; set; }
    /// <summary>The workflow the task is a member of, and its place there: its finish is reported to it. Null: none.</summary>
    public Guid? WorkflowId { get; set; }
    public int WorkflowIndex { get; set; }
    /// <summary>A delayed task's start (<see cref="TaskSignature.Eta"/>): while Delayed, the durable timer <see cref="DelayedStarts"/> fires.</summary>
    public DateTimeOffset? StartAt { get; set; }
    /// <summary>The earlier runs an operator's retry closed, as a JSON array (null: never retried).</summary>
    public string? Runs { get; set; }
    /// <summary>The first attempt of the current run: reports of an earlier run's attempts (a cancelled one, say) are ignored.</summary>
    public int RunFrom { get; set; } = 1;
    /// <summary>The rate the request gave the task's group (<c>rate=</c>), for a retry's dispatch.</summary>
    public string? GroupRate { get; set; }
    /// <summary>While WAITING under a rate limit: the start a Worker reserved, and the limit that set it.</summary>
    public DateTimeOffset? ThrottledUntil { get; set; }
    public string? ThrottledBy { get; set; }
    public int Current { get; set; }
    public int Total { get; set; }
    public string? Message { get; set; }
    public DateTimeOffset? ProgressAt { get; set; }
    public string? Response { get; set; }
    public string? Error { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    /// <summary>When a started task must have ended; past it the sweeper fails the task as lost.</summary>
    public DateTimeOffset? Deadline { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>When the result is deleted; null while the task is not finished.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>Lifecycle hooks raised so far (task types with <c>event</c> hooks); numbers them for in-order delivery.</summary>
    public int HookSeq { get; set; }
    /// <summary>Postgres <c>xmin</c>: the optimistic concurrency token.</summary>
    public uint Version { get; set; }
}
