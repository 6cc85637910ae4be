using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace TaskHub.Hosting.Outbox;

/// <summary>
/// The statements of <c>outbox_messages</c>, in one place: the insert that rides along with a state
/// change, the claim of messages whose lease lapsed, and the delete once the broker has them.
/// </summary>
public sealed class OutboxTable(NpgsqlDataSource database, IOptions<OutboxOptions> options, TimeProvider time)
{
    readonly OutboxOptions settings = options.Value;

    /// <summary>
    /// An <c>INSERT … SELECT</c> of <paramref name="messages"/>, its parameters numbered from
    /// <paramref name="first"/> (to join a statement that has its own). With <paramref name="onlyIfRowsIn"/>
    /// (a CTE's name) it inserts only when that CTE returned a row: the state write it follows went through.
    /// </summary>
    public (string Sql, NpgsqlParameter[] Parameters) Insert(IReadOnlyList<OutboxMessage> messages, int first, string? onlyIfRowsIn = null)
    {
        var now = time.GetUtcNow();
        var sql = "INSERT INTO outbox_messages (id, destination, message_type, body, created_at, locked_until) " +
                  $"SELECT u.id, u.destination, u.message_type, u.body, ${first + 4}, ${first + 5} " +
                  $"FROM unnest(${first}::uuid[], ${first + 1}::text[], ${first + 2}::text[], ${first + 3}::text[]) AS u(id, destination, message_type, body)" +
                  (onlyIfRowsIn is null ? "" : $" WHERE EXISTS (SELECT 1 FROM {onlyIfRowsIn})") +
                  // An id made from what the message is for (a stored attempt) is written once.
                  " ON CONFLICT (id) DO NOTHING";
        return (sql,
        [
            new NpgsqlParameter { Value = messages.Select(m => m.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid },
            new NpgsqlParameter { Value = messages.Select(m => m.Destination?.ToString()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            new NpgsqlParameter { Value = messages.Select(m => m.TypeName).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            new NpgsqlParameter { Value = messages.Select(m => m.Body).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            new NpgsqlParameter { Value = now },
            new NpgsqlParameter { Value = now + settings.Lease },
        ]);
    }

    /// <summary>Adds <paramref name="messages"/> to a transaction of the caller's.</summary>
    public async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
            return;
        var (sql, parameters) = Insert(messages, 1);
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A message to send at <paramref name="sendAt"/>, not before: the row is leased until then, and the first
    /// relay poll after it sends the message. A long wait is so a stored due time, not a held message.
    /// </summary>
    public async Task InsertDueAsync(OutboxMessage message, DateTimeOffset sendAt, CancellationToken cancellationToken)
    {
        var (sql, parameters) = Insert([message], 1);
        parameters[^1].Value = sendAt;
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Takes up to <see cref="OutboxOptions.BatchSize"/> messages whose lease lapsed, oldest first, under a new lease.</summary>
    public async Task<IReadOnlyList<(Guid Id, string? Destination, string Type, string Body)>> ClaimLapsedAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = database.CreateCommand("""
            UPDATE outbox_messages o SET locked_until = $2, attempts = o.attempts + 1
            FROM (SELECT id FROM outbox_messages WHERE locked_until < $1 ORDER BY locked_until LIMIT $3 FOR UPDATE SKIP LOCKED) lapsed
            WHERE o.id = lapsed.id
            RETURNING o.id, o.destination, o.message_type, o.body
            """);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(now + settings.Lease);
        command.Parameters.AddWithValue(settings.BatchSize);
        var rows = new List<(Guid, string?, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add((reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        return rows;
    }

    /// <summary>Holds rows that cannot be sent (a type that no longer reads) out of every poll for an hour, for an operator to see.</summary>
    public async Task SetAsideAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE outbox_messages SET locked_until = $2 WHERE id = ANY($1)");
        command.Parameters.AddWithValue(ids.ToArray());
        command.Parameters.AddWithValue(time.GetUtcNow().AddHours(1));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task DeleteAsync(IReadOnlyList<Guid> ids)
    {
        await using var command = database.CreateCommand("DELETE FROM outbox_messages WHERE id = ANY($1)");
        command.Parameters.AddWithValue(ids.ToArray());
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Messages written and not yet known to be sent.</summary>
    public async Task<long> BacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT count(*) FROM outbox_messages");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
