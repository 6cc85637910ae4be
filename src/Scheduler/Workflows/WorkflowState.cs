using MassTransit;

namespace TaskHub.Scheduler.Workflows;

/// <summary>One workflow's progress, persisted in <c>workflows</c>; see <see cref="WorkflowStateMachine"/>.</summary>
public class WorkflowState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "";
    /// <summary>chain, group or chord.</summary>
    public string Kind { get; set; } = "";
    /// <summary>The <c>WorkflowSpec</c> as sent, as JSON: every member's id and submission.</summary>
    public string Spec { get; set; } = "{}";
    /// <summary>The result passed to the first members (a nested workflow's), as a JSON <c>TaskArg</c>; null: none.</summary>
    public string? Input { get; set; }
    /// <summary>Each member's progress (<see cref="MemberProgress"/>), in the spec's order, as a JSON array.</summary>
    public string Members { get; set; } = "[]";
    public string? Owner { get; set; }
    /// <summary>Where the outcome is POSTed when the workflow succeeds or fails; null: nowhere.</summary>
    public string? CallbackUrl { get; set; }
    /// <summary>The workflow this one is a step of, and its place there; null for a workflow sent on its own.</summary>
    public Guid? ParentId { get; set; }
    public int ParentIndex { get; set; }
    /// <summary>The workflow's result (JSON) once it succeeded: a chain's last step's, a group's results in order, a chord's callback's.</summary>
    public string? Result { get; set; }
    public string? Error { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>
    /// <see cref="Spec"/>, <see cref="Members"/> and <see cref="Input"/> parsed, while this instance handles its event (one
    /// <see cref="WorkflowProgress"/> for all its steps, however often they read it); not stored.
    /// </summary>
    internal WorkflowProgress? Parsed { get; set; }
    /// <summary>Postgres <c>xmin</c>: the optimistic concurrency token.</summary>
    public uint Version { get; set; }
}
