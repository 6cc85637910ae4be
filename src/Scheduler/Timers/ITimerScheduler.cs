namespace TaskHub.Scheduler.Timers;

/// <summary>
/// Durable timers on the clustered Quartz scheduler. When a timer fires, its message is published
/// on the bus (once per fire across all Schedulers; at least once if a Scheduler dies mid-fire) with
/// the headers <see cref="TimerFire"/> reads. Consumers do the work, so no Quartz thread waits on it.
/// </summary>
public interface ITimerScheduler
{
    /// <summary>
    /// Schedules <paramref name="message"/> to be published per <paramref name="schedule"/>, replacing
    /// any timer with the same key (so calling it again re-arms a debounce). Returns the first fire
    /// time Quartz computed.
    /// </summary>
    Task<DateTimeOffset> ScheduleAsync<T>(TimerKey key, T message, TimerSchedule schedule, CancellationToken cancellationToken = default)
        where T : class;

    /// <summary>Stops and removes the timer; false when there was none (never scheduled, cancelled, or fired its last time).</summary>
    Task<bool> CancelAsync(TimerKey key, CancellationToken cancellationToken = default);

    /// <summary>When the timer fires next; null when it will not fire again.</summary>
    Task<DateTimeOffset?> GetNextFireTimeAsync(TimerKey key, CancellationToken cancellationToken = default);
}
