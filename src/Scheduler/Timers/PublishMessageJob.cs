using System.Text.Json;
using MassTransit;
using Quartz;

namespace TaskHub.Scheduler.Timers;

/// <summary>
/// The one Quartz job of every timer: publishes the message stored in its job data and returns, so
/// a Quartz thread is held only for one publish.
/// </summary>
public sealed class PublishMessageJob(IBus bus, ILogger<PublishMessageJob> logger) : IJob
{
    internal const string MessageTypeKey = "taskhub.message-type";
    internal const string MessageKey = "taskhub.message";
    const int PublishAttempts = 3;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var data = context.MergedJobDataMap;
        var key = new TimerKey(context.JobDetail.Key.Group, context.JobDetail.Key.Name);
        var typeName = data.GetString(MessageTypeKey) ?? "";
        if (Type.GetType(typeName) is not { } type)
        {
            // The message type was renamed or removed: this timer can never fire usefully again.
            logger.LogError("Timer {Key} publishes {Type}, which no longer exists; removing the timer", key, typeName);
            throw new JobExecutionException($"message type {typeName} not found") { UnscheduleAllTriggers = true };
        }
        var message = JsonSerializer.Deserialize(data.GetString(MessageKey) ?? "null", type, QuartzTimers.Json)
            ?? throw new JobExecutionException($"timer {key} has no message") { UnscheduleAllTriggers = true };
        var fire = new TimerFire(key, context.ScheduledFireTimeUtc ?? context.FireTimeUtc, context.FireTimeUtc, context.FireInstanceId);
        try
        {
            await bus.Publish(message, type, Pipe.Execute<PublishContext>(p => fire.WriteTo(p.Headers)), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && context.RefireCount < PublishAttempts - 1)
        {
            logger.LogWarning(ex, "Timer {Key} could not publish its message; firing again", key);
            throw new JobExecutionException(ex) { RefireImmediately = true };
        }
    }
}
