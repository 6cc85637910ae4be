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
    ILogger<CallbackTimers> logger) : HeldTimers(database, options, time, logger)
{
    protected override string What => "callback";

    protected override TimerRows Rows { get; } = new("callbacks", "next_due_at", "state = 'active'");

    /// <summary>
    /// Fires again those whose delivery was claimed but never settled once the claim has lapsed (their
    /// Scheduler died mid-delivery); the fire consumer takes each over. Until one does, every poll
    /// fires it again: the takeover is atomic, so the repeats cost a query each and deliver nothing.
    /// </summary>
    protected override async Task RetakeLapsedAsync(CancellationToken cancellationToken)
    {
        await using var command = Database.CreateCommand(
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
}
