using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace TaskHub.Api.PullQueue;

/// <summary>The <c>PullQueue</c> section: defaults and bounds of the pull queue API. Times are in seconds unless named otherwise.</summary>
public sealed class PullQueueOptions
{
    public const string Section = "PullQueue";

    /// <summary>How long a replied result stays cached when the put or call named no <c>cache_result_time</c>.</summary>
    [Range(1, 7 * 86400)]
    public int DefaultCacheResultTime { get; set; } = 60;

    [Range(1, 7 * 86400)]
    public int MaxCacheResultTime { get; set; } = 86400;

    /// <summary>The lease an acquire takes when it names no <c>promise_reply_time</c>.</summary>
    [Range(1, 7 * 86400)]
    public int DefaultPromiseReplyTime { get; set; } = 60;

    [Range(1, 7 * 86400)]
    public int MaxPromiseReplyTime { get; set; } = 86400;

    /// <summary>The longest a peek or call may wait; also how long an expired result is kept for a call still waiting on it.</summary>
    [Range(0, 3600)]
    public int MaxTimeout { get; set; } = 300;

    /// <summary>How long a call waits when it names no <c>timeout</c> (the seed's example value).</summary>
    [Range(0, 3600)]
    public int DefaultCallTimeout { get; set; } = 10;

    /// <summary>Most tasks one peek returns, and most ids one acquire names.</summary>
    [Range(1, 10_000)]
    public int MaxSize { get; set; } = 100;

    /// <summary>
    /// Milliseconds a waiting peek or call sleeps between looks at the database when no notification
    /// wakes it: a lost notification (listener reconnecting) or a lease running out only delays by this much.
    /// </summary>
    [Range(10, 600_000)]
    public int PollFallbackMs { get; set; } = 1000;

    /// <summary>How often expired results are deleted.</summary>
    [Range(1, 3600)]
    public int SweepIntervalSeconds { get; set; } = 30;
}

/// <summary>Checks between settings that data annotations cannot express; each message names its key.</summary>
public sealed class PullQueueOptionsValidator : IValidateOptions<PullQueueOptions>
{
    public ValidateOptionsResult Validate(string? name, PullQueueOptions o)
    {
        const string s = PullQueueOptions.Section;
        var errors = new List<string>();
        if (o.DefaultCacheResultTime > o.MaxCacheResultTime)
            errors.Add($"{s}:DefaultCacheResultTime ({o.DefaultCacheResultTime}) must not exceed {s}:MaxCacheResultTime ({o.MaxCacheResultTime}).");
        if (o.DefaultPromiseReplyTime > o.MaxPromiseReplyTime)
            errors.Add($"{s}:DefaultPromiseReplyTime ({o.DefaultPromiseReplyTime}) must not exceed {s}:MaxPromiseReplyTime ({o.MaxPromiseReplyTime}).");
        if (o.DefaultCallTimeout > o.MaxTimeout)
            errors.Add($"{s}:DefaultCallTimeout ({o.DefaultCallTimeout}) must not exceed {s}:MaxTimeout ({o.MaxTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
