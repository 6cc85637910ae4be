namespace TaskHub.Contracts.Cron;

/// <summary>Classic cron fields with seconds, as the client gave them (dow 0-6, 0 = Sunday).</summary>
public sealed record CronJobFields(string Second, string Minute, string Hour, string Dom, string Month, string Dow);

/// <summary>The request one fire makes: <paramref name="Params"/> is JSON text sent as the body (null: no body).</summary>
public sealed record CronCallback(string Url, string Method, string? Params);

/// <summary>
/// A scheduled task's definition: a cron task has <paramref name="Cron"/>, a quick (run-once) task
/// <paramref name="RunAt"/>. <paramref name="Count"/> bounds the fires (0 = unlimited);
/// <paramref name="StartAt"/>/<paramref name="StopAt"/> bound the fire times (null = open).
/// </summary>
public sealed record CronTaskSpec(
    string Name,
    CronJobFields? Cron,
    DateTimeOffset? RunAt,
    int Count,
    DateTimeOffset? StartAt,
    DateTimeOffset? StopAt,
    bool IsMultipleEntry,
    CronCallback Callback);

/// <summary>
/// Request: create the task (<paramref name="Replace"/> false) or replace the definition of an
/// existing one (true). Answered with <see cref="CronTaskSnapshot"/>, <see cref="CronTaskRejected"/>
/// or, for a replace, <see cref="CronTaskNotFound"/>.
/// </summary>
public sealed record ScheduleCronTask(Guid TaskId, CronTaskSpec Spec, bool Replace, string? Owner = null);

/// <summary>Request: stop and remove a task. Answered with <see cref="CronTaskDeleted"/> or <see cref="CronTaskNotFound"/>.</summary>
public sealed record DeleteCronTask(Guid TaskId);

/// <summary>What an operator does to a scheduled task (<see cref="ControlCronTask"/>).</summary>
public enum CronTaskAction { Pause, Resume, Fire }

/// <summary>
/// Request: pause a task (its timer is removed), resume it (armed again from now), or fire it at once (a
/// fire like any other, counted). Answered with <see cref="CronTaskSnapshot"/>, <see cref="CronTaskRejected"/>
/// (a completed task) or <see cref="CronTaskNotFound"/>.
/// </summary>
public sealed record ControlCronTask(Guid TaskId, CronTaskAction Action);

/// <summary>Request: a task's definition and schedule. Answered with <see cref="CronTaskSnapshot"/> or <see cref="CronTaskNotFound"/>.</summary>
public sealed record GetCronTask(Guid TaskId);

/// <summary>
/// Request: the receiver's result of one fire (<see cref="CronFireStatuses.Success"/> or
/// <see cref="CronFireStatuses.Failed"/>). Answered with <see cref="CronFireReported"/> or <see cref="CronFireNotFound"/>.
/// </summary>
public sealed record ReportCronFire(Guid Token, string Status, DateTimeOffset At);

/// <summary><paramref name="Kind"/> is <c>cron</c> or <c>quick</c>; <paramref name="NextFireAt"/> null when it will not fire again.</summary>
public sealed record CronTaskSnapshot(
    Guid TaskId,
    string Kind,
    CronTaskSpec Spec,
    string? CronExpression,
    string State,
    DateTimeOffset? NextFireAt,
    int FireCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>The definition cannot be scheduled; <paramref name="Field"/> is the request field at fault (e.g. <c>cronJob.dow</c>).</summary>
public sealed record CronTaskRejected(Guid TaskId, string Field, string Detail);

public sealed record CronTaskNotFound(Guid TaskId);

public sealed record CronTaskDeleted(Guid TaskId);

public sealed record CronFireReported(Guid Token, Guid TaskId, string Status);

/// <summary>No fire has this token, or it was skipped (a skipped fire was never sent, so it has no result).</summary>
public sealed record CronFireNotFound(Guid Token, string Detail);
