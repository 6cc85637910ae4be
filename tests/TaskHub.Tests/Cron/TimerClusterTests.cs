using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using TaskHub.Contracts.Transport;
using TaskHub.Scheduler.Timers;
using TaskHub.Tests.Infrastructure;

namespace TaskHub.Tests.Cron;

public sealed record TimerProbe(string Name);

/// <summary>Every probe a timer published, with the fire headers it carried.</summary>
public sealed class ProbeLog
{
    public ConcurrentQueue<(string Name, TimerFire Fire)> Received { get; } = new();
}

public sealed class TimerProbeConsumer(ProbeLog log) : IConsumer<TimerProbe>
{
    public Task Consume(ConsumeContext<TimerProbe> context)
    {
        log.Received.Enqueue((context.Message.Name, TimerFire.From(context) ?? throw new InvalidOperationException("no timer headers")));
        return Task.CompletedTask;
    }
}

/// <summary>The timer machinery itself (Quartz clustered on the test's database, publishing through the bus).</summary>
public sealed class TimerClusterTests : SystemTest
{
    /// <summary>Short cluster check-in and misfire threshold so a test sees clustering and misfires within seconds.</summary>
    public static readonly (string, string?)[] QuartzSettings =
    [
        ("Quartz:ClusterCheckinIntervalMs", "1000"),
        ("Quartz:MisfireThresholdMs", "1000"),
    ];

    async Task<ProbeLog> StartProbeAsync()
    {
        var log = new ProbeLog();
        await System.StartHostAsync(b => b.Services.AddSingleton(log).AddAsyncTaskOptions(b.Configuration)
            .Services.AddTaskHubBus(x => x.AddConsumer<TimerProbeConsumer>()), []);
        return log;
    }

    [Fact]
    public async Task Two_schedulers_fire_each_tick_of_a_repeating_timer_once()
    {
        var first = await System.StartSchedulerAsync(QuartzSettings);
        await System.StartSchedulerAsync(QuartzSettings);
        var log = await StartProbeAsync();
        var timers = first.Services.GetRequiredService<ITimerScheduler>();
        var key = new TimerKey("test", "every-second");

        await timers.ScheduleAsync(key, new TimerProbe("tick"), TimerSchedule.Cron("* * * * * ?", TimeZoneInfo.Utc));
        await TestSystem.EventuallyAsync(() => Task.FromResult(log.Received.Count), n => n >= 5, TimeSpan.FromSeconds(20), "5 ticks");
        Assert.True(await timers.CancelAsync(key));
        var afterCancel = log.Received.Count;
        await Task.Delay(2000);

        var ticks = log.Received.Select(r => r.Fire.ScheduledAt).ToList();
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.All(log.Received, r => Assert.Equal(key, r.Fire.Key));
        Assert.InRange(log.Received.Count - afterCancel, 0, 1); // at most the fire already under way
        Assert.Null(await timers.GetNextFireTimeAsync(key));
        Assert.False(await timers.CancelAsync(key));
        Assert.Equal(2, await System.CountAsync("SELECT count(*) FROM qrtz_scheduler_state"));
    }

    [Fact]
    public async Task A_one_shot_timer_fires_once_a_cancelled_one_never_and_a_past_one_now()
    {
        var scheduler = await System.StartSchedulerAsync(QuartzSettings);
        var log = await StartProbeAsync();
        var timers = scheduler.Services.GetRequiredService<ITimerScheduler>();
        var past = DateTimeOffset.UtcNow.AddMinutes(-5);

        await timers.ScheduleAsync(new TimerKey("test", "past"), new TimerProbe("past"), TimerSchedule.Once(past));
        var due = await timers.ScheduleAsync(new TimerKey("test", "soon"), new TimerProbe("soon"), TimerSchedule.Once(DateTimeOffset.UtcNow.AddSeconds(1)));
        await timers.ScheduleAsync(new TimerKey("test", "cancelled"), new TimerProbe("cancelled"), TimerSchedule.Once(DateTimeOffset.UtcNow.AddSeconds(2)));
        Assert.True(await timers.CancelAsync(new TimerKey("test", "cancelled")));
        // Re-arming a key replaces its timer (a debounce): only the last schedule fires.
        await timers.ScheduleAsync(new TimerKey("test", "debounced"), new TimerProbe("first"), TimerSchedule.Once(DateTimeOffset.UtcNow.AddSeconds(2)));
        await timers.ScheduleAsync(new TimerKey("test", "debounced"), new TimerProbe("second"), TimerSchedule.Once(DateTimeOffset.UtcNow.AddSeconds(3)));

        await TestSystem.EventuallyAsync(() => Task.FromResult(log.Received.Count), n => n >= 3, TimeSpan.FromSeconds(15), "three fires");
        await Task.Delay(1000);

        Assert.Equal(["past", "second", "soon"], log.Received.Select(r => r.Name).Order().ToArray());
        Assert.Equal(past, log.Received.Single(r => r.Name == "past").Fire.ScheduledAt, TimeSpan.FromMilliseconds(1));
        var soon = log.Received.Single(r => r.Name == "soon").Fire;
        Assert.Equal(due, soon.ScheduledAt);
        Assert.True(soon.FiredAt >= due);
        Assert.Equal(0, await System.CountAsync("SELECT count(*) FROM qrtz_triggers"));
    }
}
