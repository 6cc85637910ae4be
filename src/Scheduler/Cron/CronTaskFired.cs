namespace TaskHub.Scheduler.Cron;

/// <summary>
/// What a scheduled task's timer publishes at each fire. <paramref name="Version"/> is the
/// definition the timer was armed for: a fire of a replaced definition is dropped. <paramref name="OnDemand"/>:
/// an operator's "fire now", which goes even while the task is paused.
/// </summary>
public sealed record CronTaskFired(Guid TaskId, int Version, bool OnDemand = false);
