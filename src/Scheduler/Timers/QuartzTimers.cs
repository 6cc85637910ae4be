using System.Text.Json;
using Quartz;

namespace TaskHub.Scheduler.Timers;

/// <summary>
/// <see cref="ITimerScheduler"/> on Quartz: one non-durable job per timer (Quartz deletes it after
/// its last fire) with one trigger of the same key, both in the database shared by the cluster.
/// </summary>
public sealed class QuartzTimers(ISchedulerFactory schedulers, TimeProvider time) : ITimerScheduler
{
    internal static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public async Task<DateTimeOffset> ScheduleAsync<T>(TimerKey key, T message, TimerSchedule schedule, CancellationToken cancellationToken = default)
        where T : class
    {
        var type = message.GetType();
        var job = JobBuilder.Create<PublishMessageJob>()
            .WithIdentity(JobKey(key))
            // A Scheduler that dies mid-fire leaves the fire to another: at least once, never lost.
            .RequestRecovery()
            // Without the version, a later build of the same assembly still loads the type.
            .UsingJobData(PublishMessageJob.MessageTypeKey, $"{type.FullName}, {type.Assembly.GetName().Name}")
            .UsingJobData(PublishMessageJob.MessageKey, JsonSerializer.Serialize(message, type, Json))
            .Build();
        var trigger = schedule.Apply(TriggerBuilder.Create(time).WithIdentity(TriggerKey(key)).ForJob(job), time.GetUtcNow()).Build();
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        return await scheduler.ScheduleJob(job, trigger, ScheduleJobOptions.Replacing, cancellationToken);
    }

    public async Task<bool> CancelAsync(TimerKey key, CancellationToken cancellationToken = default)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        // Removing the only trigger removes the non-durable job with it. (DeleteJob throws when it
        // races with the trigger's last fire completing; this just answers false.)
        return await scheduler.UnscheduleJob(TriggerKey(key), cancellationToken);
    }

    public async Task<DateTimeOffset?> GetNextFireTimeAsync(TimerKey key, CancellationToken cancellationToken = default)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var trigger = await scheduler.GetTrigger(TriggerKey(key), cancellationToken);
        return trigger?.NextFireTimeUtc;
    }

    static JobKey JobKey(TimerKey key) => new(key.Id, key.Group);

    static TriggerKey TriggerKey(TimerKey key) => new(key.Id, key.Group);
}
