using Quartz;

namespace TaskHub.Scheduler.Timers;

/// <summary>
/// When a timer fires. Every kind fires once now, not once per missed tick, when it was due while
/// no Scheduler ran (a misfire).
/// </summary>
public abstract record TimerSchedule
{
    /// <summary>Once at <paramref name="at"/>; a time in the past fires now.</summary>
    public static TimerSchedule Once(DateTimeOffset at) => new OnceSchedule(at);

    /// <summary>
    /// Every <paramref name="interval"/>, first at <paramref name="startAt"/> (now if null), at most
    /// <paramref name="times"/> times (null: until <paramref name="endAt"/> or cancelled).
    /// </summary>
    public static TimerSchedule Every(TimeSpan interval, int? times = null, DateTimeOffset? startAt = null, DateTimeOffset? endAt = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.FromMilliseconds(1));
        if (times is < 1)
            throw new ArgumentOutOfRangeException(nameof(times), times, "A repeating timer fires at least once.");
        return new IntervalSchedule(interval, times, startAt, endAt);
    }

    /// <summary>A Quartz cron expression (seconds first, one of day-of-month/day-of-week '?'), within [startAt, endAt] (both inclusive).</summary>
    public static TimerSchedule Cron(string quartzExpression, TimeZoneInfo timeZone, DateTimeOffset? startAt = null, DateTimeOffset? endAt = null)
    {
        if (!CronExpression.TryParse(quartzExpression, out _))
            throw new ArgumentException($"'{quartzExpression}' is not a Quartz cron expression.", nameof(quartzExpression));
        return new CronSchedule(quartzExpression, timeZone, startAt, endAt);
    }

    internal abstract TriggerBuilder<IJob> Apply(TriggerBuilder<IJob> trigger, DateTimeOffset now);

    sealed record OnceSchedule(DateTimeOffset At) : TimerSchedule
    {
        internal override TriggerBuilder<IJob> Apply(TriggerBuilder<IJob> trigger, DateTimeOffset now) =>
            trigger.StartAt(At).WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow));
    }

    sealed record IntervalSchedule(TimeSpan Interval, int? Times, DateTimeOffset? StartAt, DateTimeOffset? EndAt) : TimerSchedule
    {
        internal override TriggerBuilder<IJob> Apply(TriggerBuilder<IJob> trigger, DateTimeOffset now) =>
            Start(trigger, StartAt, now).EndAt(EndAt).WithSimpleSchedule(s =>
            {
                s.WithInterval(Interval).WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount);
                if (Times is { } times)
                    s.WithRepeatCount(times - 1);
                else
                    s.RepeatForever();
            });
    }

    sealed record CronSchedule(string Expression, TimeZoneInfo TimeZone, DateTimeOffset? StartAt, DateTimeOffset? EndAt) : TimerSchedule
    {
        internal override TriggerBuilder<IJob> Apply(TriggerBuilder<IJob> trigger, DateTimeOffset now) =>
            Start(trigger, StartAt, now).EndAt(EndAt).WithCronSchedule(Expression,
                c => c.InTimeZone(TimeZone).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed));
    }

    /// <summary>
    /// A repeating schedule starts no earlier than now: ticks before it was scheduled would
    /// otherwise count as missed and fire at once.
    /// </summary>
    static TriggerBuilder<IJob> Start(TriggerBuilder<IJob> trigger, DateTimeOffset? startAt, DateTimeOffset now) =>
        startAt > now ? trigger.StartAt(startAt.Value) : trigger.StartAt(now);
}
