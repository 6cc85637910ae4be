using TaskHub.Contracts.Cron;

namespace TaskHub.Scheduler.Cron;

/// <summary>One row of <c>cron_tasks</c>.</summary>
public sealed record CronTaskRecord(
    Guid Id,
    string Kind,
    CronTaskSpec Spec,
    string? CronExpression,
    int Version,
    int FireCount,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public bool CountReached => Spec.Count > 0 && FireCount >= Spec.Count;

    public CronTaskSnapshot ToSnapshot(DateTimeOffset? nextFireAt) => new(Id, Kind, Spec, CronExpression,
        // Past its stopAt (or its one run) Quartz has removed the trigger: it will not fire again.
        State == CronTaskStates.Active && nextFireAt is null ? CronTaskStates.Completed : State,
        nextFireAt, FireCount, CreatedAt, UpdatedAt);
}

/// <summary>The parts of a <c>cron_task_fires</c> row that decide what a fire does.</summary>
public sealed record CronFireRow(Guid Token, string Status, DateTimeOffset FiredAt, DateTimeOffset? DeliveredAt);

/// <summary>One delivery attempt of a fire's callback: an HTTP status, or the error that prevented one.</summary>
public sealed record CallbackAttempt(int Attempt, DateTimeOffset At, int? HttpStatus, string? Error, bool Retryable)
{
    public bool Succeeded => HttpStatus is >= 200 and < 300;
}
