using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Options;

namespace TaskHub.Scheduler.Groups;

/// <summary>The <c>Groups</c> section.</summary>
public sealed class GroupOptions
{
    public const string Section = "Groups";

    /// <summary>Per group, how many of its tasks may run at once; overrides the request's <c>parallels</c>.</summary>
    public Dictionary<string, int> Limits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per group, how often its tasks may start, cluster-wide (<c>20/s</c>); overrides the request's <c>rate</c>.</summary>
    public Dictionary<string, string> RateLimits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A member the Api recorded but whose submission never reached the Scheduler (the publish
    /// failed) would block its group forever; after this long it is skipped.
    /// </summary>
    [Range(1, 86400)]
    public int AbandonUnsubmittedAfterSeconds { get; set; } = 60;
}

public sealed class GroupOptionsValidator : IValidateOptions<GroupOptions>
{
    public ValidateOptionsResult Validate(string? name, GroupOptions o)
    {
        var errors = o.RateLimits.Where(r => !RateLimit.TryParse(r.Value, out _))
            .Select(r => $"{GroupOptions.Section}:RateLimits:{r.Key} must be {RateLimit.Forms} (was '{r.Value}').").ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
