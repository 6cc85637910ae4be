using System.ComponentModel.DataAnnotations;

namespace TaskHub.Scheduler.Timers;

/// <summary>The <c>Quartz</c> section: the clustered scheduler every durable timer runs on.</summary>
public sealed class TimerOptions
{
    public const string Section = "Quartz";

    /// <summary>The cluster's name; every Scheduler sharing the database must use the same one.</summary>
    [Required, MaxLength(100)]
    public string InstanceName { get; set; } = "TaskHub";

    /// <summary>How often a Scheduler tells the cluster it is alive; a silent one's triggers are recovered by the others.</summary>
    [Range(200, 600_000)]
    public int ClusterCheckinIntervalMs { get; set; } = 7500;

    /// <summary>Quartz threads. Jobs only publish a message, so a few are plenty.</summary>
    [Range(1, 100)]
    public int ThreadCount { get; set; } = 4;

    /// <summary>
    /// How late a trigger may fire and still count as on time. Later than this it is a misfire and
    /// fires once now instead of replaying every missed tick; short keeps catch-up bursts short.
    /// </summary>
    [Range(100, 3_600_000)]
    public int MisfireThresholdMs { get; set; } = 5000;
}
