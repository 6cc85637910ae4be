using System.Diagnostics;
using TaskHub.Hosting.Telemetry;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>A new <c>/callback/new</c> callback: its first fire is taken into memory at once if it is due soon.</summary>
public sealed class ArmCallbackConsumer(CallbackTimers timers) : IConsumer<ArmCallback>
{
    public Task Consume(ConsumeContext<ArmCallback> context) => timers.TakeAsync(context.Message.CallbackId, context.Message.DueAt, context.CancellationToken);
}

/// <summary>
/// One fire of a callback: the callee's answer (or the request body) is POSTed to the callback.
/// A fire is recorded under its due time before anything is called, so a repeated message does
/// not deliver twice; it is claimed for as long as its delivery may take, so a fire whose Scheduler
/// died mid-delivery is found again (<see cref="CallbackTimers"/>) and taken over once the claim
/// lapses. An interval stops after <c>count</c> fires, on <c>DELETE</c>, or when the callback
/// answers JSON with a truthy <c>data</c> (the public project's stop rule).
/// </summary>
public sealed class FireCallbackConsumer(
    NpgsqlDataSource database,
    CallbackSender sender,
    CallbackTimers timers,
    IOptionsMonitor<CallbackDeliveryOptions> delivery,
    TaskHubMetrics metrics,
    TimeProvider time) : IConsumer<FireCallback>
{
    sealed record Interval(string? Callee, string Url, int? MaxCount, long IntervalMs, DateTimeOffset? NextDueAt);

    /// <summary>A claimed fire: its number, and the body to deliver (a debounce delivers the latest one).</summary>
    readonly record struct Fire(int Number, DateTimeOffset DueAt, string Body);

    public async Task Consume(ConsumeContext<FireCallback> context)
    {
        var id = context.Message.CallbackId;
        var token = context.CancellationToken;
        var dueAt = TimerFire.From(context)?.ScheduledAt;
        var firedAt = time.GetUtcNow();
        // Most fires are the only one of their callback: claimed, counted and recorded in one statement.
        if (await ClaimOnlyFireAsync(id, dueAt, firedAt, token) is var (fire, callee, url))
        {
            await DeliverAsync(id, fire, callee, url, token);
            return;
        }
        if (await FireIntervalAsync(id, dueAt, token))
            return;
        // Nothing new to claim: a repeated message, or a fire whose Scheduler died mid-delivery.
        if (dueAt is { } due && await TakeOverFireAsync(id, due, time.GetUtcNow(), token) is var (lapsed, lapsedCallee, lapsedUrl, maxCount))
        {
            var redelivered = await DeliverAsync(id, lapsed, lapsedCallee, lapsedUrl, token);
            if (maxCount is not null && StopsInterval(lapsed, maxCount.Value, redelivered))
                await FinishAsync(id, token);
        }
    }

    /// <summary>
    /// Claims and delivers the interval's fire due at <paramref name="dueAt"/>; false when there is
    /// no active interval of this id or that fire was claimed already. Fires of one interval never
    /// overlap: a fire due while the previous one is still being delivered waits for it, then sees
    /// whether that one ended the interval.
    /// </summary>
    async Task<bool> FireIntervalAsync(Guid id, DateTimeOffset? dueAt, CancellationToken token)
    {
        if (await LoadIntervalAsync(id, token) is null)
            return false; // not an interval, or no longer active: no lock needed to know that
        await using var serial = await SerializeAsync(id, token);
        if (await LoadIntervalAsync(id, token) is not { } interval)
            return false;
        var firedAt = time.GetUtcNow();
        if (await ClaimIntervalFireAsync(id, interval, dueAt ?? interval.NextDueAt ?? firedAt, firedAt, token) is not { } tick)
            return false;
        var delivered = await DeliverAsync(id, tick, interval.Callee, interval.Url, token);
        if (StopsInterval(tick, interval.MaxCount ?? 0, delivered))
            await FinishAsync(id, token); // a next fire already held finds the callback done
        return true;
    }

    /// <summary>The interval's <c>count</c> (0: none) is reached, or the callback said stop.</summary>
    static bool StopsInterval(Fire fire, int maxCount, AttemptResult delivered) =>
        (maxCount > 0 && fire.Number >= maxCount) || (delivered.Succeeded && SaysStop(delivered.ResponseBody));

    /// <summary>The claim a new fire holds: long enough for the callee's and the callback's deliveries.</summary>
    DateTimeOffset ClaimEnd(DateTimeOffset firedAt) => firedAt + 2 * delivery.CurrentValue.LongestDelivery;

    /// <summary>Calls the callee (if any) with the fire's body, POSTs the outcome to the callback, and records how that went.</summary>
    async Task<AttemptResult> DeliverAsync(Guid id, Fire fire, string? callee, string url, CancellationToken token)
    {
        metrics.TimerFired("callback", time.GetUtcNow() - fire.DueAt);
        // Started here, not in an awaited method: Activity.Current set there would not flow back to the calls below.
        using var span = TaskHubTelemetry.Source.HasListeners()
            ? TaskHubTelemetry.Source.StartActivity("taskhub.callback.fire", ActivityKind.Internal, await RequestTraceAsync(id, token),
                    links: TaskHubTelemetry.LinkToCurrent())
                ?.SetTag("taskhub.callback.id", id).SetTag("taskhub.fire", fire.Number)
            : null;
        var result = fire.Body;
        if (callee is not null)
        {
            var called = await sender.SendAsync(HttpMethod.Post, callee, fire.Body, id.ToString(), _ => Task.CompletedTask, token);
            result = called.Succeeded
                ? AsJson(called.ResponseBody)
                : JsonSerializer.Serialize(new { ok = false, error = $"callee: {called.Error}", id = id.ToString() });
        }
        var delivered = await sender.SendAsync(HttpMethod.Post, url, result, id.ToString(), _ => Task.CompletedTask, token);
        await RecordAsync(id, fire.DueAt, delivered, token);
        return delivered;
    }

    /// <summary>
    /// The trace of the <c>/callback/new</c> request that made the callback: its fires are delivered in it
    /// (linked to the timer that fired them). Read only while spans are recorded, so an untraced fire costs no query.
    /// </summary>
    async Task<ActivityContext> RequestTraceAsync(Guid id, CancellationToken token)
    {
        await using var command = database.CreateCommand("SELECT trace_parent FROM callbacks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return ActivityContext.TryParse(await command.ExecuteScalarAsync(token) as string, null, out var parent) ? parent : default;
    }

    /// <summary>
    /// Claims the fire of a callback that fires once (now, setTimeout, debounce): marks it done,
    /// counts and records the fire. Null for an interval, and for a callback no longer active.
    /// </summary>
    async Task<(Fire Fire, string? Callee, string Url)?> ClaimOnlyFireAsync(Guid id, DateTimeOffset? dueAt, DateTimeOffset firedAt, CancellationToken token)
    {
        await using var command = database.CreateCommand("""
            WITH fire AS (
                UPDATE callbacks SET fired = fired + 1, updated_at = $2, state = 'done'
                WHERE id = $1 AND state = 'active' AND mode <> 'interval'
                RETURNING id, fired, coalesce($3, next_due_at, $2) AS due_at, callee, callback, body),
            recorded AS (
                INSERT INTO callback_fires (callback_id, fire, due_at, fired_at, claimed_until) SELECT id, fired, due_at, $2, $4 FROM fire)
            SELECT fired, due_at, body, callee, callback FROM fire
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(firedAt);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = dueAt, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue(ClaimEnd(firedAt));
        await using var reader = await command.ExecuteReaderAsync(token);
        if (!await reader.ReadAsync(token))
            return null;
        return (new Fire(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2)),
            reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4));
    }

    /// <summary>
    /// Takes over the fire due at <paramref name="dueAt"/> when it was claimed but never settled and
    /// its claim has lapsed: its Scheduler died mid-delivery. Null otherwise (a repeated message
    /// for a fire that is delivered, or still being delivered). <c>MaxCount</c> is 0 for an
    /// interval without <c>count</c>, null for a callback that fires once.
    /// </summary>
    async Task<(Fire Fire, string? Callee, string Url, int? MaxCount)?> TakeOverFireAsync(Guid id, DateTimeOffset dueAt, DateTimeOffset now, CancellationToken token)
    {
        await using var command = database.CreateCommand("""
            UPDATE callback_fires f SET claimed_until = $3, fired_at = $2
            FROM callbacks c
            WHERE f.callback_id = $1 AND f.due_at = $4 AND f.settled_at IS NULL AND f.claimed_until < $2 AND c.id = f.callback_id
            RETURNING f.fire, c.body, c.callee, c.callback, CASE WHEN c.mode = 'interval' THEN coalesce(c.max_count, 0) END
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(ClaimEnd(now));
        command.Parameters.AddWithValue(dueAt);
        await using var reader = await command.ExecuteReaderAsync(token);
        if (!await reader.ReadAsync(token))
            return null;
        return (new Fire(reader.GetInt32(0), dueAt, reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetInt32(4));
    }

    /// <summary>Holds this callback's advisory lock (in a transaction of its own) until disposed.</summary>
    async Task<IAsyncDisposable> SerializeAsync(Guid id, CancellationToken token)
    {
        var connection = await database.OpenConnectionAsync(token);
        var transaction = await connection.BeginTransactionAsync(token);
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))", connection, transaction);
        command.Parameters.AddWithValue(id);
        await command.ExecuteNonQueryAsync(token);
        return new HeldLock(connection, transaction);
    }

    sealed class HeldLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync(); // rolls back: the lock goes with it
            await connection.DisposeAsync();
        }
    }

    async Task<Interval?> LoadIntervalAsync(Guid id, CancellationToken token)
    {
        await using var command = database.CreateCommand(
            "SELECT callee, callback, max_count, interval_ms, next_due_at FROM callbacks WHERE id = $1 AND state = 'active' AND mode = 'interval'");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(token);
        return await reader.ReadAsync(token)
            ? new Interval(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetInt32(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4))
            : null;
    }

    /// <summary>
    /// Claims the interval's fire due at <paramref name="dueAt"/> (null if that one was claimed
    /// already), counts and records it, and moves the interval on to its next tick: the one after
    /// now if it fell behind (a late interval fires once, not once per missed tick). A next tick due
    /// soon is taken into this Scheduler's memory at once.
    /// </summary>
    async Task<Fire?> ClaimIntervalFireAsync(Guid id, Interval interval, DateTimeOffset dueAt, DateTimeOffset firedAt, CancellationToken token)
    {
        var next = dueAt.AddMilliseconds(interval.IntervalMs) is var tick && tick > firedAt ? tick : firedAt;
        DateTimeOffset? holdNext = next <= timers.Horizon(firedAt) ? next : null;
        await using var command = database.CreateCommand("""
            WITH fire AS (
                UPDATE callbacks SET fired = fired + 1, updated_at = $2, next_due_at = $4, claimed_until = $5
                WHERE id = $1 AND state = 'active' AND next_due_at = $3
                RETURNING id, fired, body),
            recorded AS (
                INSERT INTO callback_fires (callback_id, fire, due_at, fired_at, claimed_until) SELECT id, fired, $3, $2, $6 FROM fire ON CONFLICT DO NOTHING)
            SELECT fired, body FROM fire
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(firedAt);
        command.Parameters.AddWithValue(dueAt);
        command.Parameters.AddWithValue(next);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>
            { TypedValue = holdNext is not null ? timers.LeaseEnd(next, firedAt) : null, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue(ClaimEnd(firedAt));
        Fire fire;
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            if (!await reader.ReadAsync(token))
                return null;
            fire = new Fire(reader.GetInt32(0), dueAt, reader.GetString(1));
        }
        if (holdNext is { } nextDue)
            timers.Hold(id, nextDue);
        return fire;
    }

    async Task RecordAsync(Guid id, DateTimeOffset dueAt, AttemptResult delivered, CancellationToken token)
    {
        await using var command = database.CreateCommand(
            "UPDATE callback_fires SET http_status = $3, error = $4, settled_at = $5, claimed_until = NULL WHERE callback_id = $1 AND due_at = $2");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(dueAt);
        command.Parameters.AddWithValue((object?)delivered.HttpStatus ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)delivered.Error ?? DBNull.Value);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await command.ExecuteNonQueryAsync(token);
    }

    async Task FinishAsync(Guid id, CancellationToken token)
    {
        await using var command = database.CreateCommand("UPDATE callbacks SET state = 'done', updated_at = $2 WHERE id = $1 AND state = 'active'");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await command.ExecuteNonQueryAsync(token);
    }

    static string AsJson(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return "null";
        try
        {
            using var _ = JsonDocument.Parse(body);
            return body;
        }
        catch (JsonException)
        {
            return JsonSerializer.Serialize(body);
        }
    }

    /// <summary>JavaScript truthiness of the answer's <c>data</c>, as the public project tests it.</summary>
    public static bool SaysStop(string? answer)
    {
        if (string.IsNullOrWhiteSpace(answer))
            return false;
        try
        {
            using var document = JsonDocument.Parse(answer);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("data", out var data))
                return false;
            return data.ValueKind switch
            {
                JsonValueKind.True or JsonValueKind.Object or JsonValueKind.Array => true,
                JsonValueKind.String => data.GetString()!.Length > 0,
                JsonValueKind.Number => data.GetDouble() is not 0 and not double.NaN,
                _ => false,
            };
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
