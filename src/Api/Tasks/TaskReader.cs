using System.Text.Json;
using Npgsql;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Tasks;

/// <summary>Reads the task table the Scheduler owns. An expired result reads as absent even before the sweeper deletes it.</summary>
public sealed class TaskReader(NpgsqlDataSource database, TimeProvider time)
{
    public async Task<TaskView?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT id, name, current_state, current, total, message, response::text, error, attempts, created_at, started_at, finished_at
            FROM tasks WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return new TaskView(
            reader.GetGuid(0),
            reader.GetString(1),
            TaskStatuses.FromSagaState(reader.GetString(2)),
            reader.GetInt32(3),
            reader.GetInt32(4),
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.IsDBNull(6) ? null : JsonDocument.Parse(reader.GetString(6)).RootElement.Clone(),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.GetInt32(8),
            reader.GetFieldValue<DateTimeOffset>(9),
            reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
            reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11));
    }
}
