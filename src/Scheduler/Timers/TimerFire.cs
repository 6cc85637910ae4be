using MassTransit;

namespace TaskHub.Scheduler.Timers;

/// <summary>
/// Which fire of which timer published a message, read from its headers. <see cref="ScheduledAt"/>
/// is the tick the fire belongs to (a catch-up fire after downtime carries the missed tick), so
/// (key, ScheduledAt) identifies a fire when a consumer must drop a repeated one.
/// </summary>
public sealed record TimerFire(TimerKey Key, DateTimeOffset ScheduledAt, DateTimeOffset FiredAt, string FireId)
{
    public const string KeyHeader = "TaskHub-Timer-Key";
    public const string ScheduledAtHeader = "TaskHub-Timer-ScheduledAt";
    public const string FiredAtHeader = "TaskHub-Timer-FiredAt";
    public const string FireIdHeader = "TaskHub-Timer-FireId";

    /// <summary>Null when the message was not published by a timer.</summary>
    public static TimerFire? From(ConsumeContext context)
    {
        var key = context.Headers.Get<string>(KeyHeader);
        var scheduledAt = context.Headers.Get<string>(ScheduledAtHeader);
        var firedAt = context.Headers.Get<string>(FiredAtHeader);
        if (key is null || !DateTimeOffset.TryParse(scheduledAt, out var scheduled) || !DateTimeOffset.TryParse(firedAt, out var fired))
            return null;
        return new TimerFire(TimerKey.Parse(key), scheduled, fired, context.Headers.Get<string>(FireIdHeader) ?? "");
    }

    internal void WriteTo(SendHeaders headers)
    {
        headers.Set(KeyHeader, Key.ToString());
        headers.Set(ScheduledAtHeader, ScheduledAt.ToString("O"));
        headers.Set(FiredAtHeader, FiredAt.ToString("O"));
        headers.Set(FireIdHeader, FireId);
    }
}
