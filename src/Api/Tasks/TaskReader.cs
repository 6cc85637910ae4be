using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Tasks;

/// <summary>Reads the task table the Scheduler owns. An expired result reads as absent even before the sweeper deletes it.</summary>
public sealed class TaskReader(NpgsqlDataSource database, TimeProvider time)
{
    /// <param name="owner">Only a task of this owner (someone else's reads as absent); null: anyone's.</param>
    public async Task<TaskView?> FindAsync(Guid id, string? owner, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT id, name, current_state, current, total, message, response::text, error, attempts, created_at, started_at, finished_at,
                   callee, callback_url, group_name, queue, args::text, runs::text, throttled_until, throttled_by
            FROM tasks WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2) AND ($3::text IS NULL OR owner = $3)
            """) { Parameters = { new() { Value = id }, new() { Value = time.GetUtcNow() }, TextParameter(owner) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "SELECT attempt, at, http_status, error FROM callback_attempts WHERE task_id = $1 ORDER BY attempt")
            { Parameters = { new() { Value = id } } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var task = new TaskView(
            reader.GetGuid(0),
            reader.GetString(1),
            TaskStatuses.FromSagaState(reader.GetString(2)),
            reader.GetInt32(3),
            reader.GetInt32(4),
            Text(reader, 5),
            reader.IsDBNull(6) ? null : JsonDocument.Parse(reader.GetString(6)).RootElement.Clone(),
            Text(reader, 7),
            reader.GetInt32(8),
            reader.GetFieldValue<DateTimeOffset>(9),
            reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
            reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
            Text(reader, 12),
            Text(reader, 13),
            Text(reader, 14),
            [],
            reader.GetString(15),
            JsonDocument.Parse(reader.GetString(16)).RootElement.Clone(),
            reader.IsDBNull(17) ? [] : JsonSerializer.Deserialize<TaskRun[]>(reader.GetString(17))!,
            reader.IsDBNull(18) ? null : new Throttle(reader.GetFieldValue<DateTimeOffset>(18), reader.GetString(19)));
        await reader.NextResultAsync(cancellationToken);
        var attempts = new List<CallbackAttemptView>();
        while (await reader.ReadAsync(cancellationToken))
            attempts.Add(new CallbackAttemptView(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1),
                reader.IsDBNull(2) ? null : reader.GetInt32(2), Text(reader, 3)));
        return task with { CallbackAttempts = attempts };
    }

    /// <summary>The one answer for a task id that names no task (also one not readable as an id).</summary>
    public static ProblemHttpResult NotFound(string id) =>
        Problems.NotFound("id", "Task not found", $"No task '{id}', or its result has expired.");

    /// <summary>Text that may be null (an owner filter, where null matches every owner), typed so PostgreSQL need not guess.</summary>
    public static NpgsqlParameter TextParameter(string? text) => new NpgsqlParameter<string?> { TypedValue = text, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };

    /// <summary>A text column that may be NULL.</summary>
    public static string? Text(NpgsqlDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
}
