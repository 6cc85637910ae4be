using Quartz;
using TaskHub.Contracts.Cron;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Cron;

/// <summary>How a definition is armed: its kind, Quartz expression (cron) and timer schedule.</summary>
public sealed record CronPlan(string Kind, string? CronExpression, TimerSchedule Schedule)
{
    public static TimerKey TimerKey(Guid taskId) => new("cron", taskId.ToString());

    /// <summary>The plan, or why the definition can never be scheduled (naming the request field).</summary>
    public static CronPlan? Create(CronTaskSpec spec, TimeZoneInfo zone, DateTimeOffset now, out (string Field, string Detail)? refusal)
    {
        refusal = null;
        if (spec.Cron is null)
        {
            if (spec.RunAt is { } runAt)
                return new CronPlan(CronTaskKinds.Quick, null, TimerSchedule.Once(runAt));
            refusal = ("cronJob", "is required.");
            return null;
        }
        if (!CronTranslator.TryTranslate(spec.Cron, out var expression, out var error))
        {
            refusal = ($"cronJob.{error!.Field}", error.Message);
            return null;
        }
        var from = spec.StartAt > now ? spec.StartAt.Value : now;
        var first = new CronExpression(expression, zone).GetNextValidTimeAfter(from.AddSeconds(-1));
        if (first is null)
        {
            refusal = ("cronJob", $"'{expression}' (Quartz) matches no date from now on.");
            return null;
        }
        if (first > spec.StopAt)
        {
            refusal = ("stopAt", $"the schedule's first fire time after start is {first:O}, past stopAt {spec.StopAt:O}: it would never fire.");
            return null;
        }
        return new CronPlan(CronTaskKinds.Cron, expression, TimerSchedule.Cron(expression, zone, spec.StartAt, spec.StopAt));
    }
}
