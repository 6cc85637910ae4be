using System.Text.Json;
using MassTransit;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>A new <c>/callback/new</c> callback: its first fire is taken into memory at once if it is due soon.</summary>
public sealed class ArmCallbackConsumer(CallbackTimers timers) : IConsumer<ArmCallback>
{
    public Task Consume(ConsumeContext<ArmCallback> context) => timers.TakeAsync(context.Message.CallbackId, context.CancellationToken);
}

/// <summary>
/// One fire of a callback: the callee's answer (or the request body) is POSTed to the callback.
/// A fire is recorded under its due time before anything is called, so a repeated message does
/// not deliver twice. An interval stops after <c>count</c> fires, on <c>DELETE</c>, or when the
/// callback answers JSON with a truthy <c>data</c> (the public project's stop rule).
/// </summary>
public sealed class FireCallbackConsumer(NpgsqlDataSource database, CallbackSender sender, CallbackTimers timers, TimeProvider time)
    : IConsumer<FireCallback>
{
    sealed record Callback(string Mode, string? Callee, string Url, string Body, int? MaxCount, long? IntervalMs, DateTimeOffset? NextDueAt);

    public async Task Consume(ConsumeContext<FireCallback> context)
    {
        var id = context.Message.CallbackId;
        var token = context.CancellationToken;
        var timer = TimerFire.From(context);
        var callback = await LoadAsync(id, token);
        if (callback is null)
            return;
        // Fires of one interval never overlap: a fire due while the previous one is still being
        // delivered waits for it, then sees whether that one ended the interval.
        await using var serial = callback.Mode == "interval" ? await SerializeAsync(id, token) : null;
        if (serial is not null && (callback = await LoadAsync(id, token)) is null)
            return;
        var dueAt = timer?.ScheduledAt ?? callback.NextDueAt ?? time.GetUtcNow();
        var firedAt = time.GetUtcNow();
        var fire = await ClaimFireAsync(id, callback, dueAt, firedAt, token);
        if (fire is null)
            return; // this fire was delivered already, or the callback ended meanwhile
        // A debounce window closes when it fires: the body it delivers is the latest one.
        var body = fire.Value.Body;

        var result = body;
        if (callback.Callee is not null)
        {
            var called = await sender.SendAsync(HttpMethod.Post, callback.Callee, body, id.ToString(), _ => Task.CompletedTask, token);
            result = called.Succeeded
                ? AsJson(called.ResponseBody)
                : JsonSerializer.Serialize(new { ok = false, error = $"callee: {called.Error}", id = id.ToString() });
        }
        AttemptResult? last = null;
        var delivered = await sender.SendAsync(HttpMethod.Post, callback.Url, result, id.ToString(), a => { last = a; return Task.CompletedTask; }, token);
        await RecordAsync(id, dueAt, delivered, token);

        var finished = callback.Mode != "interval"
            || (callback.MaxCount is { } max && fire.Value.Number >= max)
            || (delivered.Succeeded && SaysStop(delivered.ResponseBody));
        if (finished)
            await FinishAsync(id, token); // a next fire already held finds the callback done
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

    async Task<Callback?> LoadAsync(Guid id, CancellationToken token)
    {
        await using var command = database.CreateCommand(
            "SELECT mode, callee, callback, body, max_count, interval_ms, next_due_at FROM callbacks WHERE id = $1 AND state = 'active'");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(token);
        return await reader.ReadAsync(token)
            ? new Callback(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6))
            : null;
    }

    /// <summary>
    /// Records the fire (once per due time) and counts it, in one transaction; returns its number and
    /// the body to deliver. An interval moves on to its next tick (the one after now if it fell
    /// behind: a late interval fires once, not once per missed tick), taken into this Scheduler's
    /// memory at once when it is due soon.
    /// </summary>
    async Task<(int Number, string Body)?> ClaimFireAsync(Guid id, Callback callback, DateTimeOffset dueAt, DateTimeOffset firedAt, CancellationToken token)
    {
        await using var connection = await database.OpenConnectionAsync(token);
        await using var transaction = await connection.BeginTransactionAsync(token);
        await using var count = new NpgsqlCommand(callback.IntervalMs is not null
            ? "UPDATE callbacks SET fired = fired + 1, updated_at = $2, next_due_at = $4, claimed_until = $5 WHERE id = $1 AND state = 'active' AND next_due_at = $3 RETURNING fired, body"
            : "UPDATE callbacks SET fired = fired + 1, updated_at = $2, state = 'done' WHERE id = $1 AND state = 'active' RETURNING fired, body",
            connection);
        count.Parameters.AddWithValue(id);
        count.Parameters.AddWithValue(firedAt);
        DateTimeOffset? holdNext = null;
        if (callback.IntervalMs is { } interval)
        {
            var next = dueAt.AddMilliseconds(interval) is var tick && tick > firedAt ? tick : firedAt;
            holdNext = next <= timers.Horizon(firedAt) ? next : null;
            count.Parameters.AddWithValue(dueAt);
            count.Parameters.AddWithValue(next);
            count.Parameters.AddWithValue(holdNext is not null ? timers.LeaseEnd(next, firedAt) : DBNull.Value);
        }
        int number;
        string body;
        await using (var reader = await count.ExecuteReaderAsync(token))
        {
            if (!await reader.ReadAsync(token))
                return null;
            (number, body) = (reader.GetInt32(0), reader.GetString(1));
        }
        await using var record = new NpgsqlCommand(
            "INSERT INTO callback_fires (callback_id, fire, due_at, fired_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", connection);
        record.Parameters.AddWithValue(id);
        record.Parameters.AddWithValue(number);
        record.Parameters.AddWithValue(dueAt);
        record.Parameters.AddWithValue(firedAt);
        if (await record.ExecuteNonQueryAsync(token) == 0)
            return null; // a repeated message for a fire already taken: the rollback undoes the count
        await transaction.CommitAsync(token);
        if (holdNext is { } nextDue)
            timers.Hold(id, nextDue);
        return (number, body);
    }

    async Task RecordAsync(Guid id, DateTimeOffset dueAt, AttemptResult delivered, CancellationToken token)
    {
        await using var command = database.CreateCommand(
            "UPDATE callback_fires SET http_status = $3, error = $4 WHERE callback_id = $1 AND due_at = $2");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(dueAt);
        command.Parameters.AddWithValue((object?)delivered.HttpStatus ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)delivered.Error ?? DBNull.Value);
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
