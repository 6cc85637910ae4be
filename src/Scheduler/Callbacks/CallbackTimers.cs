using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>
/// The timers of <c>/callback/new</c> (see <see cref="HeldTimers"/>). Each callback row says when it fires next
/// (<c>next_due_at</c>); that row is the durable timer. A new callback is taken at once by its <see cref="ArmCallback"/>
/// message. A fire published twice (a lapsed lease while the first is still queued) is delivered once: the fire consumer
/// claims each due time once.
/// </summary>
public sealed class CallbackTimers(
    NpgsqlDataSource database,
    IBus bus,
    IOptions<CallbackTimerOptions> options,
    TimeProvider time,
    ILogger<CallbackTimers> logger) : HeldTimers(options, time, logger)
{
    protected override string What => "callback";

    /// <summary>Takes the first fire of a new callback (its <see cref="ArmCallback"/>) if it is due soon and nobody holds it.</summary>
    public async Task TakeAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (dueAt > Horizon(now))
            return; // a poll takes it in time, with others
        await using var command = database.CreateCommand("""
            UPDATE callbacks SET claimed_until = greatest(next_due_at, $2) + $3
            WHERE id = $1 AND state = 'active' AND next_due_at <= $4 AND (claimed_until IS NULL OR claimed_until < $2)
            RETURNING next_due_at
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
            UPDATE callbacks c SET claimed_until = greatest(c.next_due_at, $1) + $2
            FROM (SELECT id FROM callbacks
                  WHERE state = 'active' AND next_due_at <= $3 AND (claimed_until IS NULL OR claimed_until < $1)
                  ORDER BY next_due_at LIMIT $4 FOR UPDATE SKIP LOCKED) due
            WHERE c.id = due.id
            RETURNING c.id, c.next_due_at
            """);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(Lease);
        command.Parameters.AddWithValue(Horizon(now));
        command.Parameters.AddWithValue(Settings.BatchSize);
        return await HoldAllAsync(command, cancellationToken);
    }

    /// <summary>
    /// Fires again those whose delivery was claimed but never settled once the claim has lapsed (their
    /// Scheduler died mid-delivery); the fire consumer takes each over. Until one does, every poll
    /// fires it again: the takeover is atomic, so the repeats cost a query each and deliver nothing.
    /// </summary>
    protected override async Task RetakeLapsedAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT callback_id, due_at FROM callback_fires WHERE settled_at IS NULL AND claimed_until < $1 ORDER BY claimed_until LIMIT $2");
        command.Parameters.AddWithValue(Time.GetUtcNow());
        command.Parameters.AddWithValue(Settings.BatchSize);
        await HoldAllAsync(command, cancellationToken);
    }

    protected override Task FireAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var timer = new TimerFire(new TimerKey("callback", id.ToString()), dueAt, Time.GetUtcNow(), NewId.NextGuid().ToString());
        return bus.Publish(new FireCallback(id), Pipe.Execute<PublishContext>(p => timer.WriteTo(p.Headers)), cancellationToken);
    }

    protected override async Task GiveBackAsync(Guid[] ids, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE callbacks SET claimed_until = NULL WHERE id = ANY($1) AND state = 'active'");
        command.Parameters.AddWithValue(ids);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
