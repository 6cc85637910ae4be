using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TaskHub.Scheduler.Callbacks;

namespace TaskHub.Tests.Unit;

public sealed class TimerLoopHealthCheckTests
{
    sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    sealed class Loop : ITimerLoop
    {
        public DateTimeOffset? LoopAt { get; set; }
    }

    static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    static async Task<HealthStatus> StatusAsync(Loop loop, Clock clock) =>
        (await new TimerLoopHealthCheck(loop, Options.Create(new CallbackTimerOptions { PollIntervalMs = 1000 }), clock)
            .CheckHealthAsync(new HealthCheckContext())).Status;

    [Fact]
    public async Task A_loop_that_stopped_going_round_makes_the_scheduler_unready()
    {
        var clock = new Clock(Start);
        var loop = new Loop();
        var check = new TimerLoopHealthCheck(loop, Options.Create(new CallbackTimerOptions { PollIntervalMs = 1000 }), clock);

        // Before its first round: given the start-up grace.
        clock.Now = Start.AddSeconds(5);
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
        clock.Now = Start.AddSeconds(14);
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        loop.LoopAt = clock.Now;
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(loop, clock));
        // Three poll intervals and ten seconds of grace later it counts as stuck.
        clock.Now = loop.LoopAt.Value.AddSeconds(12);
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(loop, clock));
        clock.Now = loop.LoopAt.Value.AddSeconds(14);
        Assert.Equal(HealthStatus.Unhealthy, await StatusAsync(loop, clock));
    }
}
