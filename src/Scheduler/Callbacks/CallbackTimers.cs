using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>
/// The timers of <c>/callback/new</c>. Each callback row says when it fires next
/// (<c>next_due_at</c>); that row is the durable timer. A Scheduler takes the fires coming due
/// within <see cref="CallbackTimerOptions.LookaheadMs"/> (a new callback at once, by its
/// <see cref="ArmCallback"/> message; the rest by polling), marks them as its own until a lease
/// past their due time (<c>claimed_until</c>), holds them in memory and publishes
/// <see cref="FireCallback"/> at the due moment. So a fire costs one update to take it and no
/// database work to wait for it, and it is on time to the millisecond. If that Scheduler dies, the
/// lease lapses and another one takes the fire: late rather than never. A fire published twice
/// (a lapsed lease while the first is still queued) is delivered once: the fire consumer claims
/// each due time once.
/// </summary>
public sealed class CallbackTimers(
    NpgsqlDataSource database,
    IBus bus,
    IOptions<CallbackTimerOptions> options,
    TimeProvider time,
    ILogger<CallbackTimers> logger) : BackgroundService, ITimerLoop
{
    readonly CallbackTimerOptions settings = options.Value;
    readonly Lock gate = new();
    readonly PriorityQueue<HeldFire, DateTimeOffset> queue = new();
    /// <summary>Fires held and not yet published: released on a clean stop so another Scheduler need not wait out the lease.</summary>
    readonly HashSet<HeldFire> held = [];
    /// <summary>Cancelled to wake the fire loop when a fire earlier than the one it waits for arrives.</summary>
    CancellationTokenSource? sleep;
    DateTimeOffset sleepingUntil = DateTimeOffset.MaxValue;

    readonly record struct HeldFire(Guid Id, DateTimeOffset DueAt);

    TimeSpan Lease => TimeSpan.FromMilliseconds(settings.ClaimLeaseMs);

    /// <summary>The latest due time this Scheduler takes into memory now.</summary>
    public DateTimeOffset Horizon(DateTimeOffset now) => now.AddMilliseconds(settings.LookaheadMs);

    /// <summary>The <c>claimed_until</c> of a fire due at <paramref name="dueAt"/> taken at <paramref name="now"/>.</summary>
    public DateTimeOffset LeaseEnd(DateTimeOffset dueAt, DateTimeOffset now) => (dueAt > now ? dueAt : now) + Lease;

    /// <summary>Takes the first fire of a new callback (its <see cref="ArmCallback"/>) if it is due soon and nobody holds it.</summary>
    public async Task TakeAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
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

    /// <summary>Takes every unheld fire due within the lookahead, oldest first; returns how many.</summary>
    async Task<int> TakeDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
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
        command.Parameters.AddWithValue(settings.BatchSize);
        return await HoldAllAsync(command, cancellationToken);
    }

    /// <summary>
    /// Fires again those whose delivery was claimed but never settled once the claim has lapsed (their
    /// Scheduler died mid-delivery); the fire consumer takes each over. Until one does, every poll
    /// fires it again: the takeover is atomic, so the repeats cost a query each and deliver nothing.
    /// </summary>
    async Task<int> RetakeLapsedFiresAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT callback_id, due_at FROM callback_fires WHERE settled_at IS NULL AND claimed_until < $1 ORDER BY claimed_until LIMIT $2");
        command.Parameters.AddWithValue(time.GetUtcNow());
        command.Parameters.AddWithValue(settings.BatchSize);
        return await HoldAllAsync(command, cancellationToken);
    }

    /// <summary>Holds each fire (callback id, due time) <paramref name="command"/> returns; returns how many.</summary>
    async Task<int> HoldAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var count = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            Hold(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1));
            count++;
        }
        return count;
    }

    /// <summary>Publishes <see cref="FireCallback"/> for <paramref name="id"/> at <paramref name="dueAt"/>; the caller has claimed that fire.</summary>
    public void Hold(Guid id, DateTimeOffset dueAt)
    {
        lock (gate)
        {
            var fire = new HeldFire(id, dueAt);
            if (!held.Add(fire))
                return;
            queue.Enqueue(fire, dueAt);
            if (dueAt < sleepingUntil)
                sleep?.Cancel();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PollAsync(stoppingToken), FireAsync(stoppingToken));

    /// <summary>When the poll loop last went round (a failed poll counts: the loop is alive, the database check says the rest).</summary>
    public DateTimeOffset? LoopAt { get; private set; }

    async Task PollAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(settings.PollIntervalMs);
        while (!stoppingToken.IsCancellationRequested)
        {
            LoopAt = time.GetUtcNow();
            try
            {
                while (await TakeDueAsync(stoppingToken) == settings.BatchSize) { }
                await RetakeLapsedFiresAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Could not look for callback timers coming due; trying again in {Interval}", interval);
            }
            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sleeps until the earliest held fire is due, publishes every fire that is due, and again.</summary>
    async Task FireAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var due = new List<HeldFire>();
            TimeSpan wait;
            CancellationTokenSource wake;
            lock (gate)
            {
                var now = time.GetUtcNow();
                while (queue.TryPeek(out _, out var at) && at <= now)
                    due.Add(queue.Dequeue());
                // Whole milliseconds, rounded up: a timer rounds a shorter wait down to none, and the loop would spin.
                wait = queue.TryPeek(out _, out var next) ? TimeSpan.FromMilliseconds(Math.Ceiling((next - now).TotalMilliseconds)) : Timeout.InfiniteTimeSpan;
                sleepingUntil = due.Count > 0 ? DateTimeOffset.MinValue : queue.Count > 0 ? next : DateTimeOffset.MaxValue;
                sleep?.Dispose();
                sleep = wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            }
            foreach (var fire in due)
                _ = PublishAsync(fire, stoppingToken);
            if (due.Count == 0)
                await Task.Delay(wait, time, wake.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Publishes one fire (not awaited by the fire loop, so a slow publish delays no other fire); retried until it goes or the host stops.</summary>
    async Task PublishAsync(HeldFire fire, CancellationToken stoppingToken)
    {
        var timer = new TimerFire(new TimerKey("callback", fire.Id.ToString()), fire.DueAt, time.GetUtcNow(), NewId.NextGuid().ToString());
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await bus.Publish(new FireCallback(fire.Id), Pipe.Execute<PublishContext>(p => timer.WriteTo(p.Headers)), stoppingToken);
                lock (gate)
                    held.Remove(fire);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // still held: given back by StopAsync
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Callback {Id} could not publish its fire due at {DueAt} (attempt {Attempt}); trying again", fire.Id, fire.DueAt, attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Gives back the fires not yet published, so another Scheduler takes them at once instead of after the lease.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Guid[] ids;
        lock (gate)
            ids = [.. held.Select(f => f.Id).Distinct()];
        if (ids.Length == 0)
            return;
        try
        {
            await using var command = database.CreateCommand("UPDATE callbacks SET claimed_until = NULL WHERE id = ANY($1) AND state = 'active'");
            command.Parameters.AddWithValue(ids);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not give back {Count} held callback timers; they fire after their lease instead", ids.Length);
        }
    }
}
