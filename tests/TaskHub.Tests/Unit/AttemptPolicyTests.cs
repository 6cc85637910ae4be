using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Worker.Execution;

namespace TaskHub.Tests.Unit;

public sealed class AttemptPolicyTests
{
    static readonly AsyncTaskOptions Defaults = new() { Attempts = 1, AttemptAfterMs = 200, TimeoutSeconds = 300 };

    [Fact]
    public void The_most_specific_word_wins()
    {
        var configured = new TaskNamePolicy { Attempts = 3, AttemptAfterMs = 50 };
        var registered = new TaskNamePolicy { Attempts = 9, TimeoutSeconds = 7, ExponentialBackoff = true };
        var policy = AttemptPolicy.Resolve(new TaskPolicy(TimeoutMs: 1500), configured, registered, Defaults);
        Assert.Equal(new AttemptPolicy(3, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(1500), true), policy);
        Assert.Equal(new AttemptPolicy(1, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(300)), AttemptPolicy.Resolve(null, null, null, Defaults));
    }

    [Fact]
    public void Fixed_delays_stay_the_same()
    {
        var policy = new AttemptPolicy(4, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        Assert.All(Enumerable.Range(1, 3), a => Assert.Equal(TimeSpan.FromMilliseconds(100), policy.DelayAfter(a, Random.Shared)));
    }

    [Fact]
    public void Exponential_delays_double_with_jitter_in_the_upper_half_and_are_capped()
    {
        var policy = new AttemptPolicy(30, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), ExponentialBackoff: true);
        var random = new Random(42);
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            var max = 100 * Math.Pow(2, attempt - 1);
            var delays = Enumerable.Range(0, 50).Select(_ => policy.DelayAfter(attempt, random).TotalMilliseconds).ToArray();
            Assert.All(delays, d => Assert.InRange(d, max / 2, max));
            Assert.True(delays.Distinct().Count() > 10, "no jitter");
        }
        Assert.Equal(TimeSpan.FromMilliseconds(AsyncTaskOptionsValidator.MaxAttemptAfterMs), policy.MaxDelayAfter(29));
    }

    [Fact]
    public void The_deadline_leaves_room_for_every_remaining_attempt_and_the_longest_waits()
    {
        var start = DateTimeOffset.UnixEpoch;
        var policy = new AttemptPolicy(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), ExponentialBackoff: true);
        // 3 × (10 s + 1 s grace) + waits of 1 s and 2 s + 5 s slack
        Assert.Equal(start + TimeSpan.FromSeconds(41), policy.DeadlineFrom(start, 1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
        // from the last attempt: one attempt, no wait
        Assert.Equal(start + TimeSpan.FromSeconds(16), policy.DeadlineFrom(start, 3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
    }
}
