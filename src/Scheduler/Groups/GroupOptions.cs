using System.ComponentModel.DataAnnotations;

namespace TaskHub.Scheduler.Groups;

/// <summary>The <c>Groups</c> section.</summary>
public sealed class GroupOptions
{
    public const string Section = "Groups";

    /// <summary>Per group, how many of its tasks may run at once; overrides the request's <c>parallels</c>.</summary>
    public Dictionary<string, int> Limits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A member the Api recorded but whose submission never reached the Scheduler (the publish
    /// failed) would block its group forever; after this long it is skipped.
    /// </summary>
    [Range(1, 86400)]
    public int AbandonUnsubmittedAfterSeconds { get; set; } = 60;
}
