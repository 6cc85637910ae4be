using System.Diagnostics;
using TaskHub.Hosting.Telemetry;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Cron;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Cron;

/// <summary>
/// One fire of a scheduled task: decides under the task's row lock whether it is delivered
/// (count, multiple entry, a repeated fire, a replaced or deleted task), records it, then delivers
/// the callback with retries, recording every attempt. The HTTP calls happen after the commit, so
/// no lock is held while a receiver answers.
/// </summary>
public sealed class CronTaskFiredConsumer(
    CronTaskStore store,
    ITimerScheduler timers,
    CronCallbackSender sender,
    IOptionsMonitor<CronOptions> options,
    TimeProvider time,
    TaskHubMetrics metrics,
    ILogger<CronTaskFiredConsumer> logger) : IConsumer<CronTaskFired>
{
    public async Task Consume(ConsumeContext<CronTaskFired> context)
    {
        var cancellationToken = context.CancellationToken;
        var now = time.GetUtcNow();
        var scheduledAt = TimerFire.From(context)?.ScheduledAt ?? now;

        CronTaskRecord? task;
        Guid? token;
        await using (var transaction = await store.BeginAsync(cancellationToken))
        {
            (task, token) = await DecideAsync(transaction, context.Message, scheduledAt, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        if (task is { State: CronTaskStates.Completed })
            await timers.CancelAsync(CronPlan.TimerKey(task.Id), cancellationToken);
        if (task is not null && token is { } fire)
        {
            metrics.TimerFired("cron", now - scheduledAt);
            // A trace of its own per fire (not the timer machinery's), naming the schedule it belongs to.
            var timerTrace = Activity.Current;
            var links = TaskHubTelemetry.LinkToCurrent();
            Activity.Current = null;
            using var span = TaskHubTelemetry.Source.StartActivity("taskhub.cron.fire", ActivityKind.Internal, default(ActivityContext), links: links);
            span?.SetTag("taskhub.schedule.id", task.Id).SetTag("taskhub.fire.token", fire);
            try
            {
                await DeliverAsync(task, fire, cancellationToken);
            }
            finally
            {
                span?.Stop();
                Activity.Current = timerTrace;
            }
        }
    }

    /// <summary>The task as it stands after this fire, and the token to deliver (null: nothing to send).</summary>
    async Task<(CronTaskRecord? Task, Guid? Token)> DecideAsync(CronTransaction transaction, CronTaskFired fired, DateTimeOffset scheduledAt,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var task = await transaction.LockTaskAsync(fired.TaskId, cancellationToken);
        if (task is null || task.Version != fired.Version)
            return (null, null); // deleted, or replaced by a newer definition with its own timer
        if (task.State == CronTaskStates.Paused && !fired.OnDemand)
            return (null, null); // a timer's fire that raced the pause

        if (await transaction.FindFireAsync(task.Id, task.Version, scheduledAt, cancellationToken) is { } repeated)
            // The same tick again: deliver only if the first delivery died before it ended.
            return (task, repeated is { Status: CronFireStatuses.Running, DeliveredAt: null } ? repeated.Token : null);

        if (task.State == CronTaskStates.Completed || task.CountReached)
            return (task with { State = CronTaskStates.Completed }, null);

        // The token is the receiver's capability to report this fire: 128 random bits, not a time-ordered id.
        var token = new Guid(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        if (!task.Spec.IsMultipleEntry
            && await transaction.LastEntryAsync(task.Id, cancellationToken) is { Status: CronFireStatuses.Running } previous
            && previous.FiredAt > now - TimeSpan.FromSeconds(options.CurrentValue.EntryTimeoutSeconds))
        {
            await transaction.InsertFireAsync(token, task, scheduledAt, now, CronFireStatuses.Skipped, cancellationToken);
            logger.LogInformation("Task {TaskId} fire at {ScheduledAt} skipped: fire {Previous} is still running", task.Id, scheduledAt, previous.Token);
            return (task, null);
        }

        await transaction.InsertFireAsync(token, task, scheduledAt, now, CronFireStatuses.Running, cancellationToken);
        var counted = task with { FireCount = task.FireCount + 1 };
        if (counted.CountReached)
            counted = counted with { State = CronTaskStates.Completed };
        await transaction.UpdateTaskAsync(counted, cancellationToken);
        return (counted, token);
    }

    async Task DeliverAsync(CronTaskRecord task, Guid token, CancellationToken cancellationToken)
    {
        var retry = options.CurrentValue.Retry;
        for (var attempt = 1; ; attempt++)
        {
            var result = await sender.SendAsync(task, token, attempt, cancellationToken);
            var final = result.Succeeded || !result.Retryable || !retry.RetriesAfter(attempt);
            if (!await store.RecordAttemptAsync(token, result, final, cancellationToken) || final)
            {
                if (!result.Succeeded)
                    logger.LogWarning("Task {TaskId} fire {Token}: callback attempt {Attempt} failed: {Error}", task.Id, token, attempt, result.Error);
                return;
            }
            await Task.Delay(retry.DelayAfter(attempt, Random.Shared), time, cancellationToken);
        }
    }
}

/// <summary>The fires' endpoint: deliveries run concurrently; a database blip is retried (a repeated fire is recognised by its tick).</summary>
public sealed class CronTaskFiredConsumerDefinition : ConsumerDefinition<CronTaskFiredConsumer>
{
    readonly CronOptions _options;

    public CronTaskFiredConsumerDefinition(IOptions<CronOptions> options)
    {
        _options = options.Value;
        EndpointName = "taskhub.cron-fires";
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<CronTaskFiredConsumer> consumer,
        IRegistrationContext context)
    {
        // Outages are waited out by the retry every Scheduler endpoint has (SchedulerApp).
        endpoint.ConcurrentMessageLimit = _options.DeliveryConcurrency;
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = _options.DeliveryConcurrency * 2;
    }
}
