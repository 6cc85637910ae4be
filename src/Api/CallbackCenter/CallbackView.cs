using Npgsql;
using TaskHub.Api.Tasks;

namespace TaskHub.Api.CallbackCenter;

public sealed record CallbackFireView(int Fire, DateTimeOffset DueAt, DateTimeOffset FiredAt, int? HttpStatus, string? Error);

/// <summary>
/// A <c>/callback/new</c> callback as <c>GET /callback/{id}</c> shows it; <c>state</c> is active,
/// done or cancelled; <c>nextFireAt</c> is when an active one is due next.
/// </summary>
public sealed record CallbackView(Guid Id, string Mode, string State, string? Callee, string Callback, int Fired, DateTimeOffset CreatedAt,
    DateTimeOffset? NextFireAt, IReadOnlyList<CallbackFireView> Fires)
{
    /// <param name="owner">Only a callback of this owner; null: anyone's.</param>
    public static async Task<CallbackView?> FindAsync(NpgsqlDataSource database, Guid id, string? owner, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT mode, state, callee, callback, fired, created_at, CASE WHEN state = 'active' THEN next_due_at END
            FROM callbacks WHERE id = $1 AND ($2::text IS NULL OR owner = $2)
            """) { Parameters = { new NpgsqlParameter { Value = id }, TaskReader.TextParameter(owner) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "SELECT fire, due_at, fired_at, http_status, error FROM callback_fires WHERE callback_id = $1 ORDER BY fire DESC LIMIT 100")
            { Parameters = { new NpgsqlParameter { Value = id } } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var (mode, state, callee, callback, fired, createdAt) = (reader.GetString(0), reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5));
        DateTimeOffset? nextFireAt = reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6);
        await reader.NextResultAsync(cancellationToken);
        var fires = new List<CallbackFireView>();
        while (await reader.ReadAsync(cancellationToken))
            fires.Add(new CallbackFireView(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return new CallbackView(id, mode, state, callee, callback, fired, createdAt, nextFireAt, fires);
    }
}
