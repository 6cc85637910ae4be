namespace TaskHub.Scheduler.Timers;

/// <summary>Names one timer: <paramref name="Group"/> is the feature (e.g. <c>cron</c>), <paramref name="Id"/> the timer within it.</summary>
public sealed record TimerKey(string Group, string Id)
{
    public override string ToString() => $"{Group}/{Id}";

    public static TimerKey Parse(string value)
    {
        var slash = value.IndexOf('/');
        return slash > 0 ? new TimerKey(value[..slash], value[(slash + 1)..]) : throw new FormatException($"'{value}' is not a timer key (group/id).");
    }
}
