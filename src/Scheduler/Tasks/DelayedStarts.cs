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
    ILogger<DelayedStarts> logger) : HeldTimers(options, time, logger)
{
    protected override string What => "delayed task";

    /// <summary>Takes a newly delayed task's start if it is due soon and nobody holds it.</summary>
    public async Task TakeAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (dueAt > Horizon(now))
            return; // a poll takes it in time, with others
        await using var command = database.CreateCommand("""
            UPDATE tasks SET claimed_until = greatest(start_at, $2) + $3
            WHERE id = $1 AND current_state = 'Delayed' AND start_at <= $4 AND (claimed_until IS NULL OR claimed_until < $2)
            RETURNING start_at
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(Lease);
        command.Parameters.AddWithValue(Horizon(now));
        if (await command.ExecuteScalarAsync(cancellationToken) is DateTime due)
            Hold(id, new DateTimeOffset(due, TimeSpan.Zero));
    }

    protected override async Task<int> TakeDueAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        await using var command = database.CreateCommand("""
            UPDATE tasks t SET claimed_until = greatest(t.start_at, $1) + $2
            FROM (SELECT id FROM tasks
                  WHERE current_state = 'Delayed' AND start_at <= $3 AND (claimed_until IS NULL OR claimed_until < $1)
                  ORDER BY start_at LIMIT $4 FOR UPDATE SKIP LOCKED) due
            WHERE t.id = due.id
            RETURNING t.id, t.start_at
            """);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(Lease);
        command.Parameters.AddWithValue(Horizon(now));
        command.Parameters.AddWithValue(Settings.BatchSize);
        return await HoldAllAsync(command, cancellationToken);
    }

    protected override Task FireAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        bus.SendTaskCommandAsync(new StartDelayedTask(id, dueAt), cancellationToken);

    protected override async Task GiveBackAsync(Guid[] ids, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE tasks SET claimed_until = NULL WHERE id = ANY($1) AND current_state = 'Delayed'");
        command.Parameters.AddWithValue(ids);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>A newly delayed task due soon is taken into memory at once, rather than at the next poll.</summary>
public sealed class ArmDelayedStartConsumer(DelayedStarts starts) : IConsumer<ArmDelayedStart>
{
    public Task Consume(ConsumeContext<ArmDelayedStart> context) => starts.TakeAsync(context.Message.TaskId, context.Message.DueAt, context.CancellationToken);
}
