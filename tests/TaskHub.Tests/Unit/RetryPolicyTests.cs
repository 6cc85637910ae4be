using TaskHub.Contracts.Retries;

namespace TaskHub.Tests.Unit;

public sealed class RetryPolicyTests
{
    [Fact]
    public void Waits_grow_by_the_factor_up_to_the_longest()
    {
        var retry = new RetryPolicy(6, TimeSpan.FromMilliseconds(500), Factor: 2, MaxDelay: TimeSpan.FromSeconds(3));
        Assert.Equal([500, 1000, 2000, 3000, 3000], Enumerable.Range(1, 5).Select(a => retry.MaxDelayAfter(a).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(9500), retry.LongestWaitsFrom(1));
        Assert.True(retry.RetriesAfter(5));
        Assert.False(retry.RetriesAfter(6));
    }

    [Fact]
    public void Jitter_takes_at_most_its_share_off_each_wait()
    {
        var retry = new RetryPolicy(3, TimeSpan.FromSeconds(1), Jitter: 0.25);
        var random = new Random(7);
        var waits = Enumerable.Range(0, 200).Select(_ => retry.DelayAfter(1, random).TotalMilliseconds).ToArray();
        Assert.All(waits, w => Assert.InRange(w, 750, 1000));
        Assert.True(waits.Distinct().Count() > 50, "no jitter");
        Assert.Equal(TimeSpan.FromSeconds(1), new RetryPolicy(3, TimeSpan.FromSeconds(1), Factor: 1).DelayAfter(2, random));
    }

    [Fact]
    public void A_huge_factor_does_not_overflow()
    {
        var retry = new RetryPolicy(100, TimeSpan.FromSeconds(1), Factor: 10);
        Assert.True(retry.MaxDelayAfter(90) > TimeSpan.FromDays(1000));
    }
}
