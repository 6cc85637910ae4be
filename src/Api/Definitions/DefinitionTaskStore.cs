using System.Text.Json;
using Npgsql;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Tasks;

using TaskHub.Api.Tasks;

namespace TaskHub.Api.Definitions;

public enum Admission
{
    /// <summary>Accepted: the caller publishes it now.</summary>
    Admitted,
    /// <summary>A task with this id exists already (a repeated caller-chosen id).</summary>
    Known,
    /// <summary>The type has <c>size</c> tasks waiting.</summary>
    Full,
}

/// <summary>
/// The Api's side of declared task types in Postgres. A type's capacity is decided under its own
/// advisory lock, counting its waiting tasks plus those accepted but not yet recorded by the
/// Scheduler, so concurrent adds on any number of Api instances never overfill it.
/// </summary>
public sealed class DefinitionTaskStore(NpgsqlDataSource database, TimeProvider time)
{
    /// <summary>An accepted task the Scheduler has not recorded within this time was lost before it was published (the Api stopped): it stops counting.</summary>
    static readonly TimeSpan Unrecorded = TimeSpan.FromMinutes(1);

    public async Task<(Admission Outcome, long Waiting)> AdmitAsync(TaskDefinition definition, Guid taskId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(hashtextextended('task-admissions:' || $1, 0))", cancellationToken, definition.Id);
        // Recorded tasks are counted in the task table from now on.
        await ExecuteAsync(connection, """
            DELETE FROM task_admissions a
            WHERE a.definition = $1 AND (a.admitted_at < $2 OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = a.task_id))
            """, cancellationToken, definition.Id, now - Unrecorded);
        if (await ScalarAsync<bool>(connection, """
                SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1) OR EXISTS (SELECT 1 FROM task_admissions WHERE task_id = $1)
                """, cancellationToken, taskId))
            return (Admission.Known, 0);
        // One statement, one snapshot: a task is counted once, as a waiting row or as an unrecorded admission.
        var waiting = await ScalarAsync<long>(connection, """
            SELECT (SELECT count(*) FROM tasks WHERE queue = $1 AND current_state = 'Waiting')
                 + (SELECT count(*) FROM task_admissions a WHERE a.definition = $2 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = a.task_id))
            """, cancellationToken, definition.Queue, definition.Id);
        if (waiting >= definition.Size)
            return (Admission.Full, waiting);
        await ExecuteAsync(connection, "INSERT INTO task_admissions (task_id, definition, admitted_at) VALUES ($1, $2, $3)",
            cancellationToken, taskId, definition.Id, now);
        await transaction.CommitAsync(cancellationToken);
        return (Admission.Admitted, waiting + 1);
    }

    /// <summary>The admitted task could not be published: it must not hold a place.</summary>
    public async Task ForgetAsync(Guid taskId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, "DELETE FROM task_admissions WHERE task_id = $1", cancellationToken, taskId);
    }

    /// <summary>The task if it is of this type and its result has not expired; WAITING while only admitted.</summary>
    /// <param name="owner">Only a task of this owner; null: anyone's.</param>
    public async Task<DefinedTaskView?> FindAsync(TaskDefinition definition, Guid taskId, string? owner, CancellationToken cancellationToken)
    {
        // One statement, so one snapshot: two would miss a task whose row is committed between them (its
        // admission then looks superseded while its row was not yet seen).
        await using var command = database.CreateCommand("""
            SELECT current_state, current, total, message, response::text, error
            FROM tasks WHERE id = $1 AND queue = $2 AND (expires_at IS NULL OR expires_at > $3) AND ($4::text IS NULL OR owner = $4)
            UNION ALL
            SELECT 'Waiting', 0, 0, NULL, NULL, NULL
            FROM task_admissions WHERE task_id = $1 AND definition = $5 AND NOT EXISTS (SELECT 1 FROM tasks WHERE id = $1)
            """);
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(definition.Queue);
        command.Parameters.AddWithValue(time.GetUtcNow());
        command.Parameters.Add(TaskReader.TextParameter(owner));
        command.Parameters.AddWithValue(definition.Id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return new DefinedTaskView(taskId, TaskStatuses.InSeedWords(TaskStatuses.FromSagaState(reader.GetString(0))), reader.GetInt32(1), reader.GetInt32(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : JsonDocument.Parse(reader.GetString(4)).RootElement.Clone(),
            reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] values)
    {
        await using var command = Command(connection, sql, values);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] values)
    {
        await using var command = Command(connection, sql, values);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
            command.Parameters.AddWithValue(value);
        return command;
    }
}
