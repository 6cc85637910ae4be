using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskHub.Contracts.Tasks;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// The pull queue's rows (table <c>queue_items</c>, migration M0002). Every operation is one
/// statement (peek: one batch), so any number of Api instances share the queues safely. Writes that
/// others may wait for send a notification in the same statement: <c>P\n{queue}</c> after a put, and
/// <c>R\n{queue}\n{id}</c> after a reply (the keys of <see cref="QueueSignals"/>).
/// </summary>
public sealed class PullQueueStore(NpgsqlDataSource database, TaskHubMetrics metrics, TimeProvider time)
{
    public const string Channel = "taskhub_pull_queue";

    const string NotifyPut = $"pg_notify('{Channel}', 'P' || chr(10) || queue)";
    const string NotifyReply = $"pg_notify('{Channel}', 'R' || chr(10) || queue || chr(10) || id)";

    /// <summary>An id whose cached result has expired may be put again: its row starts over as a new task.</summary>
    const string StartOver = """
        seq = nextval('queue_items_seq'), is_result = excluded.is_result, info = excluded.info, content = excluded.content,
        forward_to = excluded.forward_to, cache_result_seconds = excluded.cache_result_seconds, state = 'ready',
        lease_until = NULL, result_info = NULL, result_content = NULL, created_at = excluded.created_at,
        replied_at = NULL, expires_at = NULL, trace_parent = excluded.trace_parent
        """;

    /// <summary>Adds a task unless its id is in the queue; false when it is.</summary>
    public async Task<bool> PutAsync(string queue, string id, JsonElement info, byte[] content, string? forwardTo, double cacheResultSeconds,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            WITH put AS (
                INSERT INTO queue_items AS q (queue, id, info, content, forward_to, cache_result_seconds, created_at, trace_parent)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (queue, id) DO UPDATE SET {StartOver} WHERE q.expires_at <= $7
                RETURNING q.queue)
            SELECT queue FROM put, {NotifyPut}
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(Jsonb(info));
        command.Parameters.AddWithValue(content);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)forwardTo ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.AddWithValue(cacheResultSeconds);
        command.Parameters.AddWithValue(time.GetUtcNow());
        // The put's trace, so whoever acquires and replies links to it.
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)Activity.Current?.Id ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Up to <paramref name="size"/> waiting tasks after <paramref name="after"/>, in put order. Tasks
    /// whose lease ran out go back to the end of the queue first (new sequence numbers), so that a
    /// consumer peeking after its cursor sees them again.
    /// </summary>
    public async Task<IReadOnlyList<(long Seq, PeekedTask Task)>> PeekAsync(string queue, long after, int size, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            WITH requeued AS (
                UPDATE queue_items SET state = 'ready', lease_until = NULL, seq = nextval('queue_items_seq')
                WHERE queue = $1 AND state = 'acquired' AND lease_until <= $2
                RETURNING queue)
            SELECT 1 FROM (SELECT queue FROM requeued LIMIT 1) r, {NotifyPut}
            """) { Parameters = { Value(queue), Value(time.GetUtcNow()) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT seq, id, info::text FROM queue_items
            WHERE queue = $1 AND state = 'ready' AND seq > $2
            ORDER BY seq LIMIT $3
            """) { Parameters = { Value(queue), Value(after), Value(size) } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var tasks = new List<(long, PeekedTask)>();
        while (await reader.ReadAsync(cancellationToken))
            tasks.Add((reader.GetInt64(0), new PeekedTask(reader.GetString(1), ParseJson(reader.GetString(2)))));
        return tasks;
    }

    /// <summary>
    /// Leases those of <paramref name="ids"/> that are waiting (or whose lease ran out) until
    /// <paramref name="leaseUntil"/>. Rows are locked in id order, so concurrent acquires of
    /// overlapping ids queue up rather than deadlock, and each one re-checks the row it waited for.
    /// </summary>
    public async Task<IReadOnlyList<AcquiredTask>> AcquireAsync(string queue, IReadOnlyList<string> ids, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = database.CreateCommand("""
            WITH picked AS (
                SELECT id, state = 'acquired' AS lapsed FROM queue_items
                WHERE queue = $1 AND id = ANY($2) AND (state = 'ready' OR (state = 'acquired' AND lease_until <= $3))
                ORDER BY id FOR UPDATE)
            UPDATE queue_items q SET state = 'acquired', lease = q.lease + 1, lease_until = $4
            FROM picked WHERE q.queue = $1 AND q.id = picked.id
            RETURNING q.seq, q.id, q.info::text, q.content, q.lease, q.trace_parent, picked.lapsed
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(ids.ToArray());
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(now + lease);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var acquired = new List<(long Seq, AcquiredTask Task)>();
        var puts = new List<string?>();
        var lapsed = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            acquired.Add((reader.GetInt64(0), new AcquiredTask(reader.GetString(1), ParseJson(reader.GetString(2)),
                reader.GetFieldValue<byte[]>(3), reader.GetInt32(4))));
            puts.Add(reader.IsDBNull(5) ? null : reader.GetString(5));
            // Taken again because the lease of the consumer that had it ran out.
            lapsed += reader.GetBoolean(6) ? 1 : 0;
        }
        if (lapsed > 0)
            metrics.LeasesExpired(lapsed);
        LinkToPuts("acquire", now, puts);
        return acquired.OrderBy(a => a.Seq).Select(a => a.Task).ToList();
    }

    /// <summary>
    /// Answers a task: stores its result (cached for the task's cache time), forwards it as a result task to
    /// the task's result queue, and wakes the calls waiting for it. A reply to a result task is the
    /// producer's acknowledgement and removes it. False when the task is unknown, not acquired, its
    /// lease ran out, or <paramref name="lease"/> names an older acquisition.
    /// </summary>
    public async Task<bool> ReplyAsync(string queue, string id, JsonElement info, byte[] content, int? lease, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            WITH acknowledged AS (
                DELETE FROM queue_items WHERE queue = $1 AND id = $2 AND is_result
                RETURNING queue),
            replied AS (
                UPDATE queue_items SET state = 'replied', lease_until = NULL, result_info = $3, result_content = $4,
                    replied_at = $5, expires_at = $5 + make_interval(secs => cache_result_seconds)
                WHERE queue = $1 AND id = $2 AND NOT is_result AND state = 'acquired' AND lease_until > $5
                    AND ($6::integer IS NULL OR lease = $6)
                RETURNING queue, id, forward_to, trace_parent),
            forwarded AS (
                INSERT INTO queue_items AS q (queue, id, is_result, info, content, cache_result_seconds, created_at, trace_parent)
                SELECT forward_to, id, true, $3, $4, 0, $5, trace_parent FROM replied WHERE forward_to IS NOT NULL
                ON CONFLICT (queue, id) DO UPDATE SET {StartOver} WHERE q.is_result OR q.expires_at <= $5
                RETURNING q.queue)
            SELECT queue, NULL::text FROM acknowledged
            UNION ALL SELECT queue, trace_parent FROM replied, {NotifyReply}
            UNION ALL SELECT queue, NULL FROM forwarded, {NotifyPut}
            """);
        var now = time.GetUtcNow();
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(Jsonb(info));
        command.Parameters.AddWithValue(content);
        command.Parameters.AddWithValue(now);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)lease ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var answered = false;
        var puts = new List<string?>();
        while (await reader.ReadAsync(cancellationToken))
        {
            answered = true;
            puts.Add(reader.IsDBNull(1) ? null : reader.GetString(1));
        }
        LinkToPuts("reply", now, puts);
        return answered;
    }

    /// <summary>
    /// A span of this operation linked to the traces its tasks were put in, so put → acquire → reply stay
    /// connected though each is another client's request.
    /// </summary>
    static void LinkToPuts(string operation, DateTimeOffset started, IEnumerable<string?> traceParents)
    {
        if (!TaskHubTelemetry.Source.HasListeners())
            return;
        var links = traceParents.Select(p => ActivityContext.TryParse(p, null, out var put) ? new ActivityLink(put) : (ActivityLink?)null)
            .OfType<ActivityLink>().ToList();
        if (links.Count == 0)
            return;
        using var span = TaskHubTelemetry.Source.StartActivity($"taskhub.pull_queue.{operation}", ActivityKind.Internal,
            Activity.Current?.Context ?? default, links: links, startTime: started);
    }

    /// <summary>
    /// The task's result if it has been replied. A result past its cache time is still returned when
    /// <paramref name="includeExpired"/> (to a call that was already waiting for it) until the sweep deletes it.
    /// </summary>
    public async Task<CallResult?> FindResultAsync(string queue, string id, bool includeExpired, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT result_info::text, result_content FROM queue_items
            WHERE queue = $1 AND id = $2 AND state = 'replied' AND ($3 OR expires_at > $4)
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(includeExpired);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new CallResult(id, ParseJson(reader.GetString(0)), reader.GetFieldValue<byte[]>(1))
            : null;
    }

    /// <summary>Deletes a task or result; true when it was there (an expired result counts as gone).</summary>
    public async Task<bool> RemoveAsync(string queue, string id, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            DELETE FROM queue_items WHERE queue = $1 AND id = $2
            RETURNING expires_at IS NULL OR expires_at > $3
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(time.GetUtcNow());
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Deletes everything a queue holds; the number of tasks and unexpired results deleted.</summary>
    public async Task<long> ClearAsync(string queue, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            WITH deleted AS (DELETE FROM queue_items WHERE queue = $1 RETURNING expires_at)
            SELECT count(*) FILTER (WHERE expires_at IS NULL OR expires_at > $2) FROM deleted
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(time.GetUtcNow());
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Names of the queues holding a task or an unexpired result, in order. It hops from queue to queue
    /// along the primary key (a loose index scan) rather than reading every row.
    /// </summary>
    /// <summary>Names after <paramref name="after"/> (null: from the first), in order, at most <paramref name="count"/>.</summary>
    public async Task<IReadOnlyList<string>> ListQueuesAsync(string? after, int count, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            WITH RECURSIVE queues (queue) AS (
                (SELECT queue FROM queue_items WHERE $2::text IS NULL OR queue > $2 ORDER BY queue LIMIT 1)
                UNION ALL
                SELECT (SELECT i.queue FROM queue_items i WHERE i.queue > q.queue ORDER BY i.queue LIMIT 1)
                FROM queues q WHERE q.queue IS NOT NULL)
            SELECT queue FROM queues q
            WHERE queue IS NOT NULL
                AND EXISTS (SELECT 1 FROM queue_items i WHERE i.queue = q.queue AND (i.expires_at IS NULL OR i.expires_at > $1))
            ORDER BY queue
            LIMIT $3
            """);
        command.Parameters.AddWithValue(time.GetUtcNow());
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.AddWithValue(count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var queues = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
            queues.Add(reader.GetString(0));
        return queues;
    }

    public async Task<QueueStat> StatAsync(string queue, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT count(*) FILTER (WHERE state <> 'replied'),
                   count(*) FILTER (WHERE state = 'acquired' AND lease_until > $2),
                   count(*) FILTER (WHERE state = 'replied' AND expires_at > $2),
                   min(seq) FILTER (WHERE state <> 'replied'),
                   max(seq) FILTER (WHERE state <> 'replied')
            FROM queue_items WHERE queue = $1
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new QueueStat(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2),
            reader.IsDBNull(3) ? null : Cursor(reader.GetInt64(3)),
            reader.IsDBNull(4) ? null : Cursor(reader.GetInt64(4)));
    }

    public async Task<QueueTaskStatus?> StatusAsync(string queue, string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = database.CreateCommand("""
            SELECT state, lease, lease_until, seq, is_result, result_info::text, result_content FROM queue_items
            WHERE queue = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $3)
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var leaseUntil = reader.IsDBNull(2) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(2);
        var status = reader.GetString(0) switch
        {
            "replied" => TaskStatuses.Success,
            "acquired" when leaseUntil > now => TaskStatuses.Running,
            _ => TaskStatuses.Waiting,
        };
        var replied = status == TaskStatuses.Success;
        return new QueueTaskStatus(queue, id, status, reader.GetInt32(1), Cursor(reader.GetInt64(3)), reader.GetBoolean(4),
            status == TaskStatuses.Running ? leaseUntil : null,
            replied ? ParseJson(reader.GetString(5)) : null,
            replied ? reader.GetFieldValue<byte[]>(6) : null);
    }

    /// <summary>Deletes results that expired before <paramref name="cutoff"/>.</summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("DELETE FROM queue_items WHERE expires_at < $1");
        command.Parameters.AddWithValue(cutoff);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string Cursor(long seq) => seq.ToString(CultureInfo.InvariantCulture);

    static NpgsqlParameter Value<T>(T value) => new NpgsqlParameter<T> { TypedValue = value };

    static NpgsqlParameter Jsonb(JsonElement json) => new() { Value = json.GetRawText(), NpgsqlDbType = NpgsqlDbType.Jsonb };

    static JsonElement ParseJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
