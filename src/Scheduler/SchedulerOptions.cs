using System.ComponentModel.DataAnnotations;

namespace TaskHub.Scheduler;

/// <summary>The <c>Scheduler</c> section.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>How often expired results are deleted, tasks past their deadline failed, and group gates re-checked.</summary>
    [Range(1, 3600)]
    public int SweepIntervalSeconds { get; set; } = 1;

    /// <summary>Messages each of the task saga's two queues (submissions, reports) has handled at once.</summary>
    [Range(1, 1000)]
    public int SagaConcurrency { get; set; } = 32;
}
