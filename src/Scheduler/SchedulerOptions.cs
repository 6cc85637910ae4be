using System.ComponentModel.DataAnnotations;

namespace TaskHub.Scheduler;

/// <summary>The <c>Scheduler</c> section.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>How often expired results are deleted and lost tasks failed.</summary>
    [Range(1, 3600)]
    public int SweepIntervalSeconds { get; set; } = 15;

    /// <summary>How long past its deadline a running task may stay silent before it is failed as lost.</summary>
    [Range(0, 86400)]
    public int LostTaskGraceSeconds { get; set; } = 30;

    /// <summary>Messages the task saga endpoint handles at once.</summary>
    [Range(1, 1000)]
    public int SagaConcurrency { get; set; } = 32;
}
