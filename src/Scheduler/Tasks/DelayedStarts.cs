using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Scheduler.Callbacks;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// The timers of delayed tasks (<c>TaskSignature.Eta</c>, see <see cref="HeldTimers"/>): a delayed task's row, in state Delayed
/// with its <c>start_at</c>, is the durable timer, taken at once by its <see cref="ArmDelayedStart"/> when it is due soon. At the
/// due moment its saga is sent <see cref="StartDelayedTask"/>, which sends the work once: a fire taken twice finds the task
/// no longer Delayed. The <c>CallbackTimers</c> settings (poll, lookahead, lease) apply.
/// </summary>
public sealed class DelayedStarts(
    NpgsqlDataSource database,
    IBus bus,
    IOptions<CallbackTimerOptions> options,
    TimeProvider time,
    ILogger<DelayedStarts> logger) : HeldTimers(database, options, time, logger)
{
    protected override string What => "delayed task";

    protected override TimerRows Rows { get; } = new("tasks", "start_at", "current_state = 'Delayed'");

    protected override Task FireAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        bus.SendTaskCommandAsync(new StartDelayedTask(id, dueAt), cancellationToken);
}

/// <summary>A newly delayed task due soon is taken into memory at once, rather than at the next poll.</summary>
public sealed class ArmDelayedStartConsumer(DelayedStarts starts) : IConsumer<ArmDelayedStart>
{
    public Task Consume(ConsumeContext<ArmDelayedStart> context) => starts.TakeAsync(context.Message.TaskId, context.Message.DueAt, context.CancellationToken);
}
