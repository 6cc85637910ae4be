using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskHub.Contracts.Cron;

namespace TaskHub.Scheduler.Cron;

/// <summary>
/// <c>cron_tasks</c> and <c>cron_task_fires</c> in plain SQL. Whatever must not interleave per task
/// (schedule, replace, delete, decide a fire) runs in a <see cref="CronTransaction"/> holding the
/// task's row lock; recording attempts and reports are single statements.
/// </summary>
public sealed class CronTaskStore(NpgsqlDataSource database)
{
    internal static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    internal const string TaskColumns = """
        id, name, kind, cron_job::text, cron_expression, run_at, count, start_at, stop_at, is_multiple_entry,
        callback_url, callback_method, callback_params, version, fire_count, state, created_at, updated_at
        """;

    public async Task<CronTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        return new CronTransaction(connection, transaction);
    }

    public async Task<CronTaskRecord?> FindTaskAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"SELECT {TaskColumns} FROM cron_tasks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadTask(reader) : null;
    }

    public async Task<bool> DeleteTaskAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("DELETE FROM cron_tasks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>
    /// Appends the attempt to the fire's history. <paramref name="final"/> ends the delivery: a failed
    /// one turns the fire FAILED unless the receiver already reported. False when the fire is gone
    /// (its task was deleted), so no further attempt is made.
    /// </summary>
    public async Task<bool> RecordAttemptAsync(Guid token, CallbackAttempt attempt, bool final, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            UPDATE cron_task_fires SET
                attempts = attempts || jsonb_build_array(jsonb_build_object('attempt', $2, 'at', $3, 'httpStatus', $4, 'error', $5)),
                http_status = $4,
                error = $5,
                delivered_at = CASE WHEN $6 THEN $3 ELSE delivered_at END,
                status = CASE WHEN $6 AND NOT $7 AND status = 'RUNNING' THEN 'FAILED' ELSE status END
            WHERE token = $1
            """);
        command.Parameters.AddWithValue(token);
        command.Parameters.AddWithValue(attempt.Attempt);
        command.Parameters.AddWithValue(attempt.At);
        command.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = attempt.HttpStatus, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = attempt.Error, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.AddWithValue(final);
        command.Parameters.AddWithValue(attempt.Succeeded);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>The receiver's result of one fire; null when no reportable fire has <paramref name="token"/>, with why.</summary>
    public async Task<(Guid? TaskId, string? Refusal)> ReportAsync(Guid token, string status, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using (var update = database.CreateCommand(
            "UPDATE cron_task_fires SET status = $2, reported_at = $3 WHERE token = $1 AND status <> 'SKIPPED' RETURNING task_id"))
        {
            update.Parameters.AddWithValue(token);
            update.Parameters.AddWithValue(status);
            update.Parameters.AddWithValue(at);
            if (await update.ExecuteScalarAsync(cancellationToken) is Guid taskId)
                return (taskId, null);
        }
        await using var find = database.CreateCommand("SELECT status FROM cron_task_fires WHERE token = $1");
        find.Parameters.AddWithValue(token);
        return await find.ExecuteScalarAsync(cancellationToken) is string
            ? (null, $"fire {token} was skipped (the previous fire was still running), so it has no result to report")
            : (null, $"no fire has token {token}");
    }

    internal static CronTaskRecord ReadTask(NpgsqlDataReader r)
    {
        var kind = r.GetString(2);
        var spec = new CronTaskSpec(
            r.GetString(1),
            r.IsDBNull(3) ? null : JsonSerializer.Deserialize<CronJobFields>(r.GetString(3), Json),
            r.IsDBNull(5) ? null : r.GetFieldValue<DateTimeOffset>(5),
            r.GetInt32(6),
            r.IsDBNull(7) ? null : r.GetFieldValue<DateTimeOffset>(7),
            r.IsDBNull(8) ? null : r.GetFieldValue<DateTimeOffset>(8),
            r.GetBoolean(9),
            new CronCallback(r.GetString(10), r.GetString(11), r.IsDBNull(12) ? null : r.GetString(12)));
        return new CronTaskRecord(r.GetGuid(0), kind, spec, r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(13), r.GetInt32(14),
            r.GetString(15), r.GetFieldValue<DateTimeOffset>(16), r.GetFieldValue<DateTimeOffset>(17));
    }
}

/// <summary>One transaction on the cron tables; disposing without <see cref="CommitAsync"/> rolls back.</summary>
public sealed class CronTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
{
    /// <summary>The task, its row locked until the transaction ends; null when there is none.</summary>
    public async Task<CronTaskRecord?> LockTaskAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = Command($"SELECT {CronTaskStore.TaskColumns} FROM cron_tasks WHERE id = $1 FOR UPDATE");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? CronTaskStore.ReadTask(reader) : null;
    }

    /// <summary>False when a task with this id exists already.</summary>
    /// <param name="owner">The API key that created the task; the Api narrows reads and changes to it.</param>
    public async Task<bool> InsertTaskAsync(CronTaskRecord task, string? owner, CancellationToken cancellationToken)
    {
        await using var command = Command("""
            INSERT INTO cron_tasks (id, name, kind, cron_job, cron_expression, run_at, count, start_at, stop_at, is_multiple_entry,
                                    callback_url, callback_method, callback_params, version, fire_count, state, created_at, updated_at, owner)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            ON CONFLICT (id) DO NOTHING
            """);
        AddDefinition(command, task);
        command.Parameters.AddWithValue(task.CreatedAt);
        command.Parameters.AddWithValue(task.UpdatedAt);
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = owner, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Writes the definition, version, fire count and state of a locked task.</summary>
    public async Task UpdateTaskAsync(CronTaskRecord task, CancellationToken cancellationToken)
    {
        await using var command = Command("""
            UPDATE cron_tasks SET name = $2, kind = $3, cron_job = $4, cron_expression = $5, run_at = $6, count = $7, start_at = $8,
                stop_at = $9, is_multiple_entry = $10, callback_url = $11, callback_method = $12, callback_params = $13,
                version = $14, fire_count = $15, state = $16, updated_at = $17
            WHERE id = $1
            """);
        AddDefinition(command, task);
        command.Parameters.AddWithValue(task.UpdatedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteTaskAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = Command("DELETE FROM cron_tasks WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>The fire of this tick, if one was recorded already (the fire was published twice).</summary>
    public async Task<CronFireRow?> FindFireAsync(Guid taskId, int version, DateTimeOffset scheduledAt, CancellationToken cancellationToken)
    {
        await using var command = Command(
            "SELECT token, status, fired_at, delivered_at FROM cron_task_fires WHERE task_id = $1 AND version = $2 AND scheduled_at = $3");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(version);
        command.Parameters.AddWithValue(scheduledAt);
        return await ReadFireAsync(command, cancellationToken);
    }

    /// <summary>The newest fire that was not skipped: the one a new fire may have to wait for.</summary>
    public async Task<CronFireRow?> LastEntryAsync(Guid taskId, CancellationToken cancellationToken)
    {
        await using var command = Command("""
            SELECT token, status, fired_at, delivered_at FROM cron_task_fires
            WHERE task_id = $1 AND status <> 'SKIPPED' ORDER BY fired_at DESC LIMIT 1
            """);
        command.Parameters.AddWithValue(taskId);
        return await ReadFireAsync(command, cancellationToken);
    }

    public async Task InsertFireAsync(Guid token, CronTaskRecord task, DateTimeOffset scheduledAt, DateTimeOffset firedAt, string status,
        CancellationToken cancellationToken)
    {
        await using var command = Command("""
            INSERT INTO cron_task_fires (token, task_id, version, scheduled_at, fired_at, status, delivered_at)
            VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'SKIPPED' THEN $5 END)
            """);
        command.Parameters.AddWithValue(token);
        command.Parameters.AddWithValue(task.Id);
        command.Parameters.AddWithValue(task.Version);
        command.Parameters.AddWithValue(scheduledAt);
        command.Parameters.AddWithValue(firedAt);
        command.Parameters.AddWithValue(status);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }

    NpgsqlCommand Command(string sql) => new(sql, connection, transaction);

    static void AddDefinition(NpgsqlCommand command, CronTaskRecord task)
    {
        var spec = task.Spec;
        command.Parameters.AddWithValue(task.Id);
        command.Parameters.AddWithValue(spec.Name);
        command.Parameters.AddWithValue(task.Kind);
        command.Parameters.Add(new NpgsqlParameter<string?>
        {
            TypedValue = spec.Cron is null ? null : JsonSerializer.Serialize(spec.Cron, CronTaskStore.Json),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = task.CronExpression, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = spec.RunAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue(spec.Count);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = spec.StartAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = spec.StopAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue(spec.IsMultipleEntry);
        command.Parameters.AddWithValue(spec.Callback.Url);
        command.Parameters.AddWithValue(spec.Callback.Method);
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = spec.Callback.Params, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.AddWithValue(task.Version);
        command.Parameters.AddWithValue(task.FireCount);
        command.Parameters.AddWithValue(task.State);
    }

    static async Task<CronFireRow?> ReadFireAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return new CronFireRow(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
            reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
    }
}
