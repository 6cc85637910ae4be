using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Operations;

/// <summary>
/// The one read model of monitoring, as Hangfire's <c>IMonitoringApi</c> feeds its dashboard: the
/// operations routes and the dashboard read TaskHub's tables through it, never on their own. A caller
/// that is not an admin sees its own tasks, callbacks and schedules only (<paramref name="owner"/> filters).
/// </summary>
public sealed class MonitoringReader(NpgsqlDataSource database, IOptions<OperationsOptions> options, TimeProvider time)
{
    const string SummaryColumns =
        "id, name, current_state, queue, group_name, callee, attempts, current, total, message, error, created_at, started_at, finished_at";

    public async Task<TaskPage> ListAsync(TaskFilter filter, int limit, TaskCursor? after, CancellationToken cancellationToken)
    {
        var parameters = new List<NpgsqlParameter>();
        var where = filter.Where(parameters, time.GetUtcNow());
        if (after is { } cursor)
        {
            parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = cursor.CreatedAt });
            parameters.Add(new NpgsqlParameter<Guid> { TypedValue = cursor.Id });
            where += $" AND (created_at, id) < (${parameters.Count - 1}, ${parameters.Count})";
        }
        // One more than the page, to know whether another follows.
        parameters.Add(new NpgsqlParameter<int> { TypedValue = limit + 1 });
        var items = new List<TaskSummary>();
        await using (var command = Command($"SELECT {SummaryColumns} FROM tasks WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ${parameters.Count}", parameters))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                items.Add(Summary(reader));
        if (items.Count <= limit)
            return new TaskPage(items, null);
        items.RemoveAt(limit);
        return new TaskPage(items, new TaskCursor(items[^1].CreatedAt, items[^1].Id).ToString());
    }

    /// <summary>The ids a bulk action takes (the newest <paramref name="max"/>), and how many match, counted up to <paramref name="countUpTo"/>.</summary>
    public async Task<(long Matched, IReadOnlyList<Guid> Ids)> MatchAsync(TaskFilter filter, int max, int countUpTo, CancellationToken cancellationToken)
    {
        var parameters = new List<NpgsqlParameter>();
        var where = filter.Where(parameters, time.GetUtcNow());
        parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        parameters.Add(new NpgsqlParameter<int> { TypedValue = countUpTo });
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(BatchCommand($"SELECT id FROM tasks WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ${parameters.Count - 1}", parameters));
        batch.BatchCommands.Add(BatchCommand($"SELECT count(*) FROM (SELECT 1 FROM tasks WHERE {where} LIMIT ${parameters.Count}) matched", parameters));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(cancellationToken))
            ids.Add(reader.GetGuid(0));
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), ids);
    }

    /// <summary>How many names <see cref="StatsAsync"/> lists (the most numerous).</summary>
    const int StatsNames = 50;

    /// <summary>
    /// The counts by name and status are a scan of the whole table (about 0.25 s at a million rows, see
    /// bench/README.md), so each reader's are kept for <see cref="OperationsOptions.CountsCacheFor"/>: a
    /// dashboard polling every 2 s then costs one scan per interval, however many watch it.
    /// </summary>
    readonly ConcurrentDictionary<string, (DateTimeOffset At, Dictionary<string, Dictionary<string, long>> ByName)> _counts = new();

    public async Task<TaskStats> StatsAsync(string? owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var byName = await CountsAsync(owner, now, cancellationToken);
        var hourAgo = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero).AddMinutes(-59);
        var ownerOnly = owner is null ? "" : " AND owner = $2";
        await using var batch = database.CreateBatch();
        NpgsqlBatchCommand Query(string sql) => new(sql) { Parameters = { new NpgsqlParameter<DateTimeOffset> { TypedValue = hourAgo }, Text(owner) } };
        batch.BatchCommands.Add(Query($"SELECT date_trunc('minute', created_at), count(*) FROM tasks WHERE created_at >= $1{ownerOnly} GROUP BY 1"));
        batch.BatchCommands.Add(Query($"""
            SELECT date_trunc('minute', finished_at), count(*) FILTER (WHERE current_state = 'Succeeded'), count(*) FILTER (WHERE current_state = 'Failed')
            FROM tasks WHERE finished_at >= $1{ownerOnly} GROUP BY 1
            """));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var minutes = Enumerable.Range(0, 60).Select(i => hourAgo.AddMinutes(i)).ToDictionary(m => m, m => new MinuteCounts(m, 0, 0, 0));
        while (await reader.ReadAsync(cancellationToken))
            if (minutes.TryGetValue(Minute(reader), out var m))
                minutes[m.Minute] = m with { Submitted = reader.GetInt64(1) };
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            if (minutes.TryGetValue(Minute(reader), out var m))
                minutes[m.Minute] = m with { Succeeded = reader.GetInt64(1), Failed = reader.GetInt64(2) };
        var byStatus = TaskStatuses.All.ToDictionary(s => s, s => byName.Values.Sum(counts => counts[s]));
        return new TaskStats(byStatus,
            byName.OrderByDescending(n => n.Value.Values.Sum()).ThenBy(n => n.Key, StringComparer.Ordinal).Take(StatsNames)
                .Select(n => new NameCounts(n.Key, n.Value)).ToList(),
            minutes.Values.OrderBy(m => m.Minute).ToList());

        static DateTimeOffset Minute(NpgsqlDataReader reader) => new(reader.GetDateTime(0).Ticks, TimeSpan.Zero);
    }

    async Task<Dictionary<string, Dictionary<string, long>>> CountsAsync(string? owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = owner ?? "";
        if (_counts.TryGetValue(key, out var cached) && now - cached.At < options.Value.CountsCacheFor)
            return cached.ByName;
        await using var command = Command($"SELECT name, current_state, count(*) FROM tasks{(owner is null ? "" : " WHERE owner = $1")} GROUP BY name, current_state",
            owner is null ? [] : [Text(owner)]);
        var byName = new Dictionary<string, Dictionary<string, long>>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
            {
                var (name, status, count) = (reader.GetString(0), TaskStatuses.FromSagaState(reader.GetString(1)), reader.GetInt64(2));
                if (!byName.TryGetValue(name, out var counts))
                    byName[name] = counts = TaskStatuses.All.ToDictionary(s => s, _ => 0L);
                counts[status] += count;
            }
        _counts[key] = (now, byName);
        return byName;
    }

    public async Task<IReadOnlyList<GroupSummary>> GroupsAsync(string? owner, CancellationToken cancellationToken)
    {
        await using var command = Command($"""
            SELECT g.name, g.parallels, count(m.task_id) FILTER (WHERE m.state = 'running'), count(m.task_id) FILTER (WHERE m.state = 'waiting'),
                   min(m.submitted_at) FILTER (WHERE m.state = 'waiting')
            FROM task_groups g
            LEFT JOIN group_members m ON m.group_name = g.name AND m.state <> 'done'
            {(owner is null ? "" : "WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = m.task_id AND t.owner = $1)")}
            GROUP BY g.name, g.parallels ORDER BY g.name
            """, owner is null ? [] : [Text(owner)]);
        var groups = new List<GroupSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            groups.Add(new GroupSummary(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3), Instant(reader, 4)));
        return groups;
    }

    /// <summary>A group's members that hold or wait for a slot, oldest first; null when there is no such group.</summary>
    public async Task<GroupDetail?> GroupAsync(string name, string? owner, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT parallels FROM task_groups WHERE name = $1") { Parameters = { Text(name) } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT m.task_id, t.name, m.state, m.submitted_at, m.dispatched_at
            FROM group_members m LEFT JOIN tasks t ON t.id = m.task_id
            WHERE m.group_name = $1 AND m.state <> 'done' AND ($2::text IS NULL OR t.owner = $2)
            ORDER BY m.seq LIMIT 1000
            """) { Parameters = { Text(name), Text(owner) } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var parallels = reader.GetInt32(0);
        await reader.NextResultAsync(cancellationToken);
        var members = new List<GroupMember>();
        while (await reader.ReadAsync(cancellationToken))
            members.Add(new GroupMember(reader.GetGuid(0), TaskHub.Api.Tasks.TaskReader.Text(reader, 1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), Instant(reader, 4)));
        // Group names are not owned: to one who reads its own, a group without its tasks is none of its business.
        return owner is not null && members.Count == 0 ? null : new GroupDetail(name, parallels, members);
    }

    /// <summary>Scheduled tasks with their next fire (Quartz's trigger, which only an active task has) and their last fire.</summary>
    public async Task<IReadOnlyList<ScheduleSummary>> SchedulesAsync(string? owner, CancellationToken cancellationToken)
    {
        await using var command = Command("""
            SELECT c.id, c.name, c.kind, c.cron_expression, c.state, t.next_fire_time, c.fire_count, f.fired_at, f.status, c.callback_url
            FROM cron_tasks c
            LEFT JOIN qrtz_triggers t ON t.trigger_group = 'cron' AND t.trigger_name = c.id::text
            LEFT JOIN LATERAL (SELECT fired_at, status FROM cron_task_fires WHERE task_id = c.id ORDER BY fired_at DESC LIMIT 1) f ON true
            WHERE $1::text IS NULL OR c.owner = $1
            ORDER BY c.created_at DESC LIMIT 1000
            """, [Text(owner)]);
        var schedules = new List<ScheduleSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            DateTimeOffset? next = reader.IsDBNull(5) ? null : new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero);
            var state = reader.GetString(4);
            schedules.Add(new ScheduleSummary(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), TaskHub.Api.Tasks.TaskReader.Text(reader, 3),
                // As GET /v1/task/{id} says it: an active task without a trigger has fired its last.
                state == Contracts.Cron.CronTaskStates.Active && next is null ? Contracts.Cron.CronTaskStates.Completed : state,
                state == Contracts.Cron.CronTaskStates.Active ? next : null, reader.GetInt32(6), Instant(reader, 7), TaskHub.Api.Tasks.TaskReader.Text(reader, 8), reader.GetString(9)));
        }
        return schedules;
    }

    /// <summary><c>/callback/new</c> callbacks still to fire (timers, intervals, debounce windows), soonest first.</summary>
    public async Task<IReadOnlyList<CallbackSummary>> CallbacksAsync(string? owner, CancellationToken cancellationToken)
    {
        await using var command = Command("""
            SELECT id, mode, callback, callee, fired, max_count, next_due_at, interval_ms, created_at, state
            FROM callbacks WHERE state = 'active' AND ($1::text IS NULL OR owner = $1)
            ORDER BY next_due_at NULLS LAST LIMIT 1000
            """, [Text(owner)]);
        var callbacks = new List<CallbackSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            callbacks.Add(new CallbackSummary(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), TaskHub.Api.Tasks.TaskReader.Text(reader, 3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetInt32(5), Instant(reader, 6), reader.IsDBNull(7) ? null : reader.GetInt64(7),
                reader.GetFieldValue<DateTimeOffset>(8), reader.GetString(9)));
        return callbacks;
    }

    public async Task<IReadOnlyList<PullQueueSummary>> PullQueuesAsync(Caller caller, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = Command("""
            SELECT queue, sum(ready)::bigint, sum(acquired)::bigint, sum(results)::bigint, min(oldest) FROM (
                SELECT queue, count(*) FILTER (WHERE state = 'ready') AS ready, count(*) FILTER (WHERE state = 'acquired' AND lease_until > $1) AS acquired,
                       0 AS results, min(created_at) FILTER (WHERE state = 'ready') AS oldest
                FROM queue_items GROUP BY queue
                UNION ALL
                SELECT queue, 0, 0, count(*), NULL FROM queue_results WHERE expires_at > $1 GROUP BY queue) queues
            GROUP BY queue ORDER BY queue
            """, [new NpgsqlParameter<DateTimeOffset> { TypedValue = now }]);
        var queues = new List<PullQueueSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            if (caller.MayReadQueue(reader.GetString(0)))
                queues.Add(new PullQueueSummary(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                    Instant(reader, 4) is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : null));
        return queues;
    }

    public async Task<IReadOnlyList<WorkerView>> WorkersAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var silentBefore = now - options.Value.WorkerSilentAfter;
        await using var command = Command("""
            SELECT id, host, process_id, queues, concurrency, in_flight, version, started_at, last_seen_at, stopped_at
            FROM workers ORDER BY stopped_at NULLS FIRST, host, process_id
            """, []);
        var workers = new List<WorkerView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var lastSeen = reader.GetFieldValue<DateTimeOffset>(8);
            var state = !reader.IsDBNull(9) ? "stopped" : lastSeen < silentBefore ? "silent" : "online";
            workers.Add(new WorkerView(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetFieldValue<string[]>(3),
                reader.GetInt32(4), reader.GetInt32(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7), lastSeen, state, state == "silent"));
        }
        return workers;
    }

    NpgsqlCommand Command(string sql, IEnumerable<NpgsqlParameter> parameters)
    {
        var command = database.CreateCommand(sql);
        foreach (var parameter in parameters)
            command.Parameters.Add(parameter.Clone());
        return command;
    }

    static NpgsqlBatchCommand BatchCommand(string sql, IEnumerable<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
            command.Parameters.Add(parameter.Clone());
        return command;
    }

    static NpgsqlParameter Text(string? value) => TaskHub.Api.Tasks.TaskReader.TextParameter(value);

    static TaskSummary Summary(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), TaskStatuses.FromSagaState(r.GetString(2)), r.GetString(3), TaskHub.Api.Tasks.TaskReader.Text(r, 4), TaskHub.Api.Tasks.TaskReader.Text(r, 5),
        r.GetInt32(6), r.GetInt32(7), r.GetInt32(8), TaskHub.Api.Tasks.TaskReader.Text(r, 9), TaskHub.Api.Tasks.TaskReader.Text(r, 10), r.GetFieldValue<DateTimeOffset>(11), Instant(r, 12), Instant(r, 13));

    static DateTimeOffset? Instant(NpgsqlDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetFieldValue<DateTimeOffset>(column);
}
