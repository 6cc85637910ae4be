using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskHub.Contracts.Tasks;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// The pull queue's rows: the waiting and acquired tasks (<c>queue_items</c>, migration M0002) and the
/// cached results of replied ones (<c>queue_results</c>, M0022). Every operation is one transaction
/// of one round trip, so any number of Api instances share the queues safely. Writes others may wait
/// for are announced once committed (<see cref="QueueNotifications"/>): a put by the queue's
/// <see cref="QueueSignals.PutKey"/>, a reply by the task's <see cref="QueueSignals.ReplyKey"/>.
/// </summary>
public sealed class PullQueueStore(PullQueueDatabase database, QueueNotifications notifications, TaskHubMetrics metrics, TimeProvider time)
{
    /// <summary>
    /// Taken first by a put and a reply of the same id: the one that waited then sees what the other
    /// committed (a put is refused while the reply's result is cached), which two tables' constraints
    /// alone cannot give.
    /// </summary>
    const string LockTask = "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 0))";

    /// <summary>A result task forwarded again before its producer acknowledged the last one replaces it.</summary>
    const string StartOver = """
        seq = nextval('queue_items_seq'), info = excluded.info, content = excluded.content, state = 'ready',
        lease_until = NULL, created_at = excluded.created_at, trace_parent = excluded.trace_parent
        """;

    /// <summary>
    /// Adds a task unless its id is in the queue, as a task or a cached result; false when it is. An
    /// id whose result has expired is put again as a new task.
    /// </summary>
    public async Task<bool> PutAsync(string queue, string id, JsonElement info, byte[] content, string? forwardTo, double cacheResultSeconds,
        CancellationToken cancellationToken)
    {
        await using var batch = database.Source.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(LockTask) { Parameters = { Value(queue), Value(id) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH expired AS (DELETE FROM queue_results WHERE queue = $1 AND id = $2 AND expires_at <= $7)
            INSERT INTO queue_items (queue, id, info, content, forward_to, cache_result_seconds, created_at, trace_parent)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8
            WHERE NOT EXISTS (SELECT 1 FROM queue_results WHERE queue = $1 AND id = $2 AND expires_at > $7)
            ON CONFLICT (queue, id) DO NOTHING
            RETURNING queue
            """)
        {
            Parameters =
            {
                Value(queue), Value(id), Jsonb(info), Value(content),
                new NpgsqlParameter { Value = (object?)forwardTo ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                Value(cacheResultSeconds), Value(time.GetUtcNow()),
                // The put's trace, so whoever acquires and replies links to it.
                new NpgsqlParameter { Value = (object?)Activity.Current?.Id ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            },
        });
        bool added;
        // Announced once the reader is done: that is when the batch's transaction has committed.
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            added = await reader.ReadAsync(cancellationToken);
        }
        if (added)
            notifications.Announce(QueueSignals.PutKey(queue));
        return added;
    }

    /// <summary>
    /// Up to <paramref name="size"/> waiting tasks after <paramref name="after"/>, in put order. Tasks
    /// whose lease ran out go back to the end of the queue first (new sequence numbers), so that a
    /// consumer peeking after its cursor sees them again.
    /// </summary>
    public async Task<IReadOnlyList<(long Seq, PeekedTask Task)>> PeekAsync(string queue, long after, int size, CancellationToken cancellationToken)
    {
        await using var batch = database.Source.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            WITH requeued AS (
                UPDATE queue_items SET state = 'ready', lease_until = NULL, seq = nextval('queue_items_seq')
                WHERE queue = $1 AND state = 'acquired' AND lease_until <= $2
                RETURNING queue)
            SELECT count(*) FROM requeued
            """) { Parameters = { Value(queue), Value(time.GetUtcNow()) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT seq, id, info::text FROM queue_items
            WHERE queue = $1 AND state = 'ready' AND seq > $2
            ORDER BY seq LIMIT $3
            """) { Parameters = { Value(queue), Value(after), Value(size) } });
        var tasks = new List<(long, PeekedTask)>();
        bool requeued;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            requeued = reader.GetInt64(0) > 0;
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                tasks.Add((reader.GetInt64(0), new PeekedTask(reader.GetString(1), ParseJson(reader.GetString(2)))));
        }
        if (requeued)
            notifications.Announce(QueueSignals.PutKey(queue));
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
        await using var command = database.Source.CreateCommand("""
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
        var now = time.GetUtcNow();
        await using var batch = database.Source.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(LockTask) { Parameters = { Value(queue), Value(id) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            WITH acknowledged AS (
                DELETE FROM queue_items WHERE queue = $1 AND id = $2 AND is_result
                RETURNING queue),
            replied AS (
                DELETE FROM queue_items
                WHERE queue = $1 AND id = $2 AND NOT is_result AND state = 'acquired' AND lease_until > $5
                    AND ($6::integer IS NULL OR lease = $6)
                RETURNING queue, id, seq, lease, forward_to, cache_result_seconds, trace_parent),
            cached AS (
                INSERT INTO queue_results (queue, id, seq, lease, info, content, replied_at, expires_at)
                SELECT queue, id, seq, lease, $3, $4, $5, $5 + make_interval(secs => cache_result_seconds) FROM replied
                -- An expired result the sweep has not deleted yet.
                ON CONFLICT (queue, id) DO UPDATE SET seq = excluded.seq, lease = excluded.lease, info = excluded.info,
                    content = excluded.content, replied_at = excluded.replied_at, expires_at = excluded.expires_at),
            forwarded AS (
                INSERT INTO queue_items AS q (queue, id, is_result, info, content, cache_result_seconds, created_at, trace_parent)
                SELECT forward_to, id, true, $3, $4, 0, $5, trace_parent FROM replied WHERE forward_to IS NOT NULL
                ON CONFLICT (queue, id) DO UPDATE SET {StartOver} WHERE q.is_result
                RETURNING q.queue)
            SELECT 'A', queue, NULL::text FROM acknowledged
            UNION ALL SELECT 'R', queue, trace_parent FROM replied
            UNION ALL SELECT 'P', queue, NULL FROM forwarded
            """)
        {
            Parameters =
            {
                Value(queue), Value(id), Jsonb(info), Value(content), Value(now),
                new NpgsqlParameter { Value = (object?)lease ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer },
            },
        });
        var answered = false;
        var puts = new List<string?>();
        var announce = new List<string>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                answered = true;
                puts.Add(reader.IsDBNull(2) ? null : reader.GetString(2));
                switch (reader.GetString(0))
                {
                    case "R":
                        announce.Add(QueueSignals.ReplyKey(queue, id));
                        break;
                    case "P":
                        announce.Add(QueueSignals.PutKey(reader.GetString(1)));
                        break;
                }
            }
        }
        foreach (var key in announce)
            notifications.Announce(key);
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
        await using var command = database.Source.CreateCommand("""
            SELECT info::text, content FROM queue_results
            WHERE queue = $1 AND id = $2 AND ($3 OR expires_at > $4)
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
        await using var command = database.Source.CreateCommand("""
            WITH task AS (DELETE FROM queue_items WHERE queue = $1 AND id = $2 RETURNING true AS there),
                 result AS (DELETE FROM queue_results WHERE queue = $1 AND id = $2 RETURNING expires_at > $3 AS there)
            SELECT coalesce(bool_or(there), false) FROM (SELECT there FROM task UNION ALL SELECT there FROM result) removed
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(time.GetUtcNow());
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Deletes everything a queue holds; the number of tasks and unexpired results deleted.</summary>
    public async Task<long> ClearAsync(string queue, CancellationToken cancellationToken)
    {
        await using var command = database.Source.CreateCommand("""
            WITH tasks AS (DELETE FROM queue_items WHERE queue = $1 RETURNING 1),
                 results AS (DELETE FROM queue_results WHERE queue = $1 RETURNING expires_at)
            SELECT (SELECT count(*) FROM tasks) + (SELECT count(*) FROM results WHERE expires_at > $2)
            """);
        command.Parameters.AddWithValue(queue);
        command.Parameters.AddWithValue(time.GetUtcNow());
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Names of the queues holding a task or an unexpired result, after <paramref name="after"/> (null:
    /// from the first), in order, at most <paramref name="count"/>. It hops from queue to queue along
    /// each table's primary key (a loose index scan) rather than reading every row.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListQueuesAsync(string? after, int count, CancellationToken cancellationToken)
    {
        await using var command = database.Source.CreateCommand("""
            WITH RECURSIVE tasks (queue) AS (
                (SELECT queue FROM queue_items WHERE $2::text IS NULL OR queue > $2 ORDER BY queue LIMIT 1)
                UNION ALL
                SELECT (SELECT i.queue FROM queue_items i WHERE i.queue > t.queue ORDER BY i.queue LIMIT 1)
                FROM tasks t WHERE t.queue IS NOT NULL),
            results (queue) AS (
                (SELECT queue FROM queue_results WHERE $2::text IS NULL OR queue > $2 ORDER BY queue LIMIT 1)
                UNION ALL
                SELECT (SELECT c.queue FROM queue_results c WHERE c.queue > r.queue ORDER BY c.queue LIMIT 1)
                FROM results r WHERE r.queue IS NOT NULL)
            SELECT queue FROM tasks WHERE queue IS NOT NULL
            UNION
            SELECT queue FROM results r
            WHERE queue IS NOT NULL AND EXISTS (SELECT 1 FROM queue_results c WHERE c.queue = r.queue AND c.expires_at > $1)
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
        await using var command = database.Source.CreateCommand("""
            SELECT count(*), count(*) FILTER (WHERE state = 'acquired' AND lease_until > $2),
                   (SELECT count(*) FROM queue_results WHERE queue = $1 AND expires_at > $2), min(seq), max(seq)
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
        await using var command = database.Source.CreateCommand("""
            SELECT state, lease, lease_until, seq, is_result, NULL::text, NULL::bytea FROM queue_items WHERE queue = $1 AND id = $2
            UNION ALL
            SELECT 'replied', lease, NULL, seq, false, info::text, content FROM queue_results
            WHERE queue = $1 AND id = $2 AND expires_at > $3
            LIMIT 1
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
        await using var command = database.Source.CreateCommand("DELETE FROM queue_results WHERE expires_at < $1");
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
