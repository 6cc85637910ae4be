using Npgsql;
using TaskHub.Contracts.Messages;

namespace TaskHub.Scheduler.Hooks;

/// <summary>The <c>task_hooks</c> table: each hook recorded once under (task, seq), with its delivery.</summary>
public sealed class TaskHookStore(NpgsqlDataSource database, TimeProvider time)
{
    /// <summary>A hook not yet delivered nor given up; <paramref name="PredecessorRecorded"/> is false while seq − 1 has not arrived.</summary>
    public sealed record PendingHook(int Seq, string Event, string Target, string Payload, DateTimeOffset RecordedAt, bool PredecessorRecorded);

    /// <summary>False when the task is gone (its result expired): there is nothing left to hook into.</summary>
    public async Task<bool> RecordAsync(TaskHookRaised hook, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO task_hooks (task_id, seq, definition, event, target, payload, recorded_at)
            SELECT $1, $2, $3, $4, $5, $6::jsonb, $7 WHERE EXISTS (SELECT 1 FROM tasks WHERE id = $1)
            ON CONFLICT (task_id, seq) DO NOTHING
            """)
        {
            Parameters =
            {
                new() { Value = hook.TaskId }, new() { Value = hook.Seq }, new() { Value = hook.Definition }, new() { Value = hook.Event },
                new() { Value = hook.Target }, new() { Value = hook.Payload }, new() { Value = time.GetUtcNow() },
            },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT EXISTS (SELECT 1 FROM task_hooks WHERE task_id = $1 AND seq = $2)")
            { Parameters = { new() { Value = hook.TaskId }, new() { Value = hook.Seq } } });
        return await batch.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Holds the task's hook lock (in a transaction of its own) until disposed: one deliverer per task at a time, across Schedulers.</summary>
    public async Task<IAsyncDisposable> LockAsync(Guid taskId, CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('task-hooks:' || $1::text, 0))", connection, transaction);
        command.Parameters.AddWithValue(taskId);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new HeldLock(connection, transaction);
    }

    public async Task<IReadOnlyList<PendingHook>> PendingAsync(Guid taskId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT h.seq, h.event, h.target, h.payload::text, h.recorded_at,
                   h.seq = 1 OR EXISTS (SELECT 1 FROM task_hooks p WHERE p.task_id = h.task_id AND p.seq = h.seq - 1)
            FROM task_hooks h
            WHERE h.task_id = $1 AND h.delivered_at IS NULL AND h.gave_up_at IS NULL
            ORDER BY h.seq
            """);
        command.Parameters.AddWithValue(taskId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var pending = new List<PendingHook>();
        while (await reader.ReadAsync(cancellationToken))
            pending.Add(new PendingHook(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)));
        return pending;
    }

    public async Task RecordAttemptAsync(Guid taskId, int seq, string? error, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE task_hooks SET attempts = attempts + 1, last_error = $3 WHERE task_id = $1 AND seq = $2");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(seq);
        command.Parameters.AddWithValue((object?)error ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task FinishAsync(Guid taskId, int seq, bool delivered, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(delivered
            ? "UPDATE task_hooks SET delivered_at = $3 WHERE task_id = $1 AND seq = $2"
            : "UPDATE task_hooks SET gave_up_at = $3 WHERE task_id = $1 AND seq = $2");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(seq);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    sealed class HeldLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync(); // rolls back: the lock goes with it
            await connection.DisposeAsync();
        }
    }
}
