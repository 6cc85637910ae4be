namespace TaskHub.Contracts.Cron;

/// <summary>The status of one fire in a task's history.</summary>
public static class CronFireStatuses
{
    /// <summary>Fired: the callback is being delivered, or was delivered and the receiver has not reported yet.</summary>
    public const string Running = "RUNNING";
    /// <summary>The receiver reported success.</summary>
    public const string Success = "SUCCESS";
    /// <summary>The receiver reported failure, or every delivery attempt failed.</summary>
    public const string Failed = "FAILED";
    /// <summary>Not delivered: the previous fire was still running and the task does not allow multiple entry.</summary>
    public const string Skipped = "SKIPPED";
}

public static class CronTaskStates
{
    public const string Active = "ACTIVE";
    /// <summary>An operator paused it: no timer is armed until it is resumed (a fire on demand still goes).</summary>
    public const string Paused = "PAUSED";
    /// <summary>Fired <c>count</c> times, or past its last fire time: it will not fire again.</summary>
    public const string Completed = "COMPLETED";
}

public static class CronTaskKinds
{
    public const string Cron = "cron";
    public const string Quick = "quick";
}
