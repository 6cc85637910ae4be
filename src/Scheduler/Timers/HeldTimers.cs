using Microsoft.Extensions.Options;
using TaskHub.Scheduler.Callbacks;

namespace TaskHub.Scheduler.Timers;

/// <summary>
/// Timers whose durable form is a due time in a row: a Scheduler takes the fires coming due within
/// <see cref="CallbackTimerOptions.LookaheadMs"/> (a new one at once, by message; the rest by polling), marks them as its own
/// until a lease past their due time (<c>claimed_until</c>), holds them in memory and fires each at its due moment. So a fire
/// costs one update to take it and no database work to wait for it, and it is on time to the millisecond. If that Scheduler
/// dies, the lease lapses and another one takes the fire: late rather than never. What a fire does, and so what makes a fire
/// taken twice count once, is the subclass's (<see cref="CallbackTimers"/>, <see cref="Tasks.DelayedStarts"/>).
/// </summary>
public abstract class HeldTimers(Npgsql.NpgsqlDataSource database, IOptions<CallbackTimerOptions> options, TimeProvider time, ILogger logger)
    : BackgroundService, ITimerLoop
{
    /// <summary>
    /// Where the timers' rows are: their table, the column of their next due time, and what a row still to fire satisfies. Each row
    /// has <c>id</c> and <c>claimed_until</c>.
    /// </summary>
    protected sealed record TimerRows(string Table, string DueColumn, string Pending);

    protected abstract TimerRows Rows { get; }
    protected readonly Npgsql.NpgsqlDataSource Database = database;
    protected readonly CallbackTimerOptions Settings = options.Value;
    protected readonly TimeProvider Time = time;
    readonly Lock gate = new();
    readonly PriorityQueue<HeldFire, DateTimeOffset> queue = new();
    /// <summary>Fires held and not yet fired: given back on a clean stop so another Scheduler need not wait out the lease.</summary>
    readonly HashSet<HeldFire> held = [];
    /// <summary>Cancelled to wake the fire loop when a fire earlier than the one it waits for arrives.</summary>
    CancellationTokenSource? sleep;
    DateTimeOffset sleepingUntil = DateTimeOffset.MaxValue;

    readonly record struct HeldFire(Guid Id, DateTimeOffset DueAt);

    /// <summary>What the timers are, for the log.</summary>
    protected abstract string What { get; }

    protected TimeSpan Lease => TimeSpan.FromMilliseconds(Settings.ClaimLeaseMs);

    /// <summary>The latest due time this Scheduler takes into memory now.</summary>
    public DateTimeOffset Horizon(DateTimeOffset now) => now.AddMilliseconds(Settings.LookaheadMs);

    /// <summary>The <c>claimed_until</c> of a fire due at <paramref name="dueAt"/> taken at <paramref name="now"/>.</summary>
    public DateTimeOffset LeaseEnd(DateTimeOffset dueAt, DateTimeOffset now) => (dueAt > now ? dueAt : now) + Lease;

    /// <summary>Takes a new timer's first fire (its arm message) if it is due soon and nobody holds it.</summary>
    public async Task TakeAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (dueAt > Horizon(now))
            return; // a poll takes it in time, with others
        var (table, due, pending) = Rows;
        await using var command = Database.CreateCommand($"""
            UPDATE {table} SET claimed_until = greatest({due}, $2) + $3
            WHERE id = $1 AND {pending} AND {due} <= $4 AND (claimed_until IS NULL OR claimed_until < $2)
            RETURNING {due}
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(Lease);
        command.Parameters.AddWithValue(Horizon(now));
        if (await command.ExecuteScalarAsync(cancellationToken) is DateTime taken)
            Hold(id, new DateTimeOffset(taken, TimeSpan.Zero));
    }

    /// <summary>Claims and holds every unheld fire due within the lookahead, oldest first, at most a batch; returns how many.</summary>
    async Task<int> TakeDueAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var (table, due, pending) = Rows;
        await using var command = Database.CreateCommand($"""
            UPDATE {table} t SET claimed_until = greatest(t.{due}, $1) + $2
            FROM (SELECT id FROM {table}
                  WHERE {pending} AND {due} <= $3 AND (claimed_until IS NULL OR claimed_until < $1)
                  ORDER BY {due} LIMIT $4 FOR UPDATE SKIP LOCKED) taken
            WHERE t.id = taken.id
            RETURNING t.id, t.{due}
            """);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(Lease);
        command.Parameters.AddWithValue(Horizon(now));
        command.Parameters.AddWithValue(Settings.BatchSize);
        return await HoldAllAsync(command, cancellationToken);
    }

    /// <summary>Fires again those taken and never settled whose claim lapsed; none unless the subclass keeps such fires.</summary>
    protected virtual Task RetakeLapsedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>What the fire does (a message published or sent); retried until it succeeds or the host stops.</summary>
    protected abstract Task FireAsync(Guid id, DateTimeOffset dueAt, CancellationToken cancellationToken);

    /// <summary>Clears the claims of fires held and not fired, on a clean stop.</summary>
    async Task GiveBackAsync(Guid[] ids, CancellationToken cancellationToken)
    {
        await using var command = Database.CreateCommand($"UPDATE {Rows.Table} SET claimed_until = NULL WHERE id = ANY($1) AND {Rows.Pending}");
        command.Parameters.AddWithValue(ids);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Holds each fire (id, due time) <paramref name="command"/> returns; returns how many.</summary>
    protected async Task<int> HoldAllAsync(Npgsql.NpgsqlCommand command, CancellationToken cancellationToken)
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

    /// <summary>Fires <paramref name="id"/> at <paramref name="dueAt"/>; the caller has claimed that fire.</summary>
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
        Task.WhenAll(PollAsync(stoppingToken), FireDueAsync(stoppingToken));

    /// <summary>When the poll loop last went round (a failed poll counts: the loop is alive, the database check says the rest).</summary>
    public DateTimeOffset? LoopAt { get; private set; }

    async Task PollAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(Settings.PollIntervalMs);
        while (!stoppingToken.IsCancellationRequested)
        {
            LoopAt = Time.GetUtcNow();
            try
            {
                while (await TakeDueAsync(stoppingToken) == Settings.BatchSize) { }
                await RetakeLapsedAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Could not look for {What} timers coming due; trying again in {Interval}", What, interval);
            }
            await Task.Delay(interval, Time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sleeps until the earliest held fire is due, fires every fire that is due, and again.</summary>
    async Task FireDueAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var due = new List<HeldFire>();
            TimeSpan wait;
            CancellationTokenSource wake;
            lock (gate)
            {
                var now = Time.GetUtcNow();
                while (queue.TryPeek(out _, out var at) && at <= now)
                    due.Add(queue.Dequeue());
                // Whole milliseconds, rounded up: a timer rounds a shorter wait down to none, and the loop would spin.
                wait = queue.TryPeek(out _, out var next) ? TimeSpan.FromMilliseconds(Math.Ceiling((next - now).TotalMilliseconds)) : Timeout.InfiniteTimeSpan;
                sleepingUntil = due.Count > 0 ? DateTimeOffset.MinValue : queue.Count > 0 ? next : DateTimeOffset.MaxValue;
                sleep?.Dispose();
                sleep = wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            }
            foreach (var fire in due)
                _ = FireHeldAsync(fire, stoppingToken);
            if (due.Count == 0)
                await Task.Delay(wait, Time, wake.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One fire (not awaited by the fire loop, so a slow one delays no other); retried until it goes or the host stops.</summary>
    async Task FireHeldAsync(HeldFire fire, CancellationToken stoppingToken)
    {
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await FireAsync(fire.Id, fire.DueAt, stoppingToken);
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
                logger.LogWarning(ex, "The {What} timer {Id} due at {DueAt} could not fire (attempt {Attempt}); trying again", What, fire.Id, fire.DueAt, attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), Time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Gives back the fires not yet fired, so another Scheduler takes them at once instead of after the lease.</summary>
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
            await GiveBackAsync(ids, cancellationToken);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not give back {Count} held {What} timers; they fire after their lease instead", ids.Length, What);
        }
    }
}
