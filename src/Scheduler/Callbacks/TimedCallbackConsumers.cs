using System.Text.Json;
using MassTransit;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>Puts a new <c>/callback/new</c> callback on its durable timer, or fires it now.</summary>
public sealed class ArmCallbackConsumer(NpgsqlDataSource database, ITimerScheduler timers) : IConsumer<ArmCallback>
{
    public static TimerKey KeyOf(Guid id) => new("callback", id.ToString());

    public async Task Consume(ConsumeContext<ArmCallback> context)
    {
        var id = context.Message.CallbackId;
        TimerSchedule? schedule;
        // The reader is disposed exactly once, before anything else runs: Npgsql reuses reader
        // objects per pooled connection, so a second dispose would close another command's reader.
        await using (var command = database.CreateCommand(
            "SELECT mode, delay_ms, interval_ms, max_count, created_at FROM callbacks WHERE id = $1 AND state = 'active'"))
        {
            command.Parameters.AddWithValue(id);
            await using var reader = await command.ExecuteReaderAsync(context.CancellationToken);
            if (!await reader.ReadAsync(context.CancellationToken))
                return; // cancelled before it was armed
            var mode = reader.GetString(0);
            var createdAt = reader.GetFieldValue<DateTimeOffset>(4);
            schedule = mode switch
            {
                // Due times count from when the Api accepted the request, not from when this message arrived.
                "timeout" or "debounce" => TimerSchedule.Once(createdAt.AddMilliseconds(reader.GetInt64(1))),
                "interval" => TimerSchedule.Every(TimeSpan.FromMilliseconds(reader.GetInt64(2)),
                    reader.IsDBNull(3) ? null : reader.GetInt32(3), createdAt.AddMilliseconds(reader.GetInt64(2))),
                _ => null,
            };
        }
        if (schedule is null)
            await context.Publish(new FireCallback(id));
        else
            await timers.ScheduleAsync(KeyOf(id), new FireCallback(id), schedule, context.CancellationToken);
    }
}

public sealed class CancelCallbackConsumer(ITimerScheduler timers) : IConsumer<CancelCallback>
{
    public Task Consume(ConsumeContext<CancelCallback> context) =>
        timers.CancelAsync(ArmCallbackConsumer.KeyOf(context.Message.CallbackId), context.CancellationToken);
}

/// <summary>
/// One fire of a callback: the callee's answer (or the request body) is POSTed to the callback.
/// A fire is recorded under its due time before anything is called, so a repeated message does
/// not deliver twice. An interval stops after <c>count</c> fires, on <c>DELETE</c>, or when the
/// callback answers JSON with a truthy <c>data</c> (the public project's stop rule).
/// </summary>
public sealed class FireCallbackConsumer(NpgsqlDataSource database, CallbackSender sender, ITimerScheduler timers, TimeProvider time)
    : IConsumer<FireCallback>
{
    sealed record Callback(string Mode, string? Callee, string Url, string Body, int? MaxCount, DateTimeOffset CreatedAt);

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
        var dueAt = timer?.ScheduledAt ?? callback.CreatedAt;
        var firedAt = time.GetUtcNow();
        var fire = await ClaimFireAsync(id, callback.Mode, dueAt, firedAt, token);
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
        {
            await FinishAsync(id, token);
            if (callback.Mode == "interval")
                await timers.CancelAsync(ArmCallbackConsumer.KeyOf(id), token);
        }
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
            "SELECT mode, callee, callback, body, max_count, created_at FROM callbacks WHERE id = $1 AND state = 'active'");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(token);
        return await reader.ReadAsync(token)
            ? new Callback(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5))
            : null;
    }

    /// <summary>Records the fire (once per due time) and counts it, in one transaction; returns its number and the body to deliver.</summary>
    async Task<(int Number, string Body)?> ClaimFireAsync(Guid id, string mode, DateTimeOffset dueAt, DateTimeOffset firedAt, CancellationToken token)
    {
        await using var connection = await database.OpenConnectionAsync(token);
        await using var transaction = await connection.BeginTransactionAsync(token);
        await using var count = new NpgsqlCommand(mode == "interval"
            ? "UPDATE callbacks SET fired = fired + 1, updated_at = $2 WHERE id = $1 AND state = 'active' RETURNING fired, body"
            : "UPDATE callbacks SET fired = fired + 1, updated_at = $2, state = 'done' WHERE id = $1 AND state = 'active' RETURNING fired, body",
            connection);
        count.Parameters.AddWithValue(id);
        count.Parameters.AddWithValue(firedAt);
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
