using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Groups;

/// <summary>
/// The concurrency gate of task groups, kept in Postgres so that every Scheduler instance
/// agrees: a group's row is locked while one of them decides which waiting tasks may start,
/// in submission order, up to the group's limit.
/// </summary>
public sealed class GroupGate(
    NpgsqlDataSource database, OutboxTable outbox, OutboxRelay relay, IOptionsMonitor<GroupOptions> options, TimeProvider time, ILogger<GroupGate> logger)
{
    /// <summary>The message a member sends when its turn comes.</summary>
    sealed record Dispatch(string Queue, ExecuteTask? Execute, CallCallee? Call);

    public async Task EnqueueAsync(EnqueueInGroup task, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command("""
            INSERT INTO task_groups (name, parallels) VALUES ($1, COALESCE($2, 1))
            ON CONFLICT (name) DO UPDATE SET parallels = COALESCE($2, task_groups.parallels)
            """, task.Group, (object?)task.Parallels ?? DBNull.Value));
        // The Api usually inserted the row already (that fixes the order); else this is its place. An operator's
        // retry (a later first attempt than the finished member's) joins the end of the line again; a repeated
        // message of the finished run changes nothing.
        batch.BatchCommands.Add(Command("""
            INSERT INTO group_members (task_id, group_name, ready, dispatch, submitted_at) VALUES ($1, $2, true, $3::jsonb, $4)
            ON CONFLICT (task_id) DO UPDATE SET ready = true, dispatch = EXCLUDED.dispatch,
                state = CASE WHEN reopened THEN 'waiting' ELSE group_members.state END,
                seq = CASE WHEN reopened THEN EXCLUDED.seq ELSE group_members.seq END,
                released_at = CASE WHEN reopened THEN NULL ELSE group_members.released_at END
            """.Replace("reopened", Reopened), task.TaskId, task.Group, JsonSerializer.Serialize(new Dispatch(task.Queue, task.Execute, task.Call)), task.SubmittedAt));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The member is done and the new dispatch starts from a later attempt than the one it ran.</summary>
    const string Reopened = """
        (group_members.state = 'done' AND coalesce((EXCLUDED.dispatch #>> '{Execute,Attempt}')::int, (EXCLUDED.dispatch #>> '{Call,Attempt}')::int, 1)
            > coalesce((group_members.dispatch #>> '{Execute,Attempt}')::int, (group_members.dispatch #>> '{Call,Attempt}')::int, 1))
        """;

    public async Task ReleaseAsync(Guid taskId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE group_members SET state = 'done', released_at = $2 WHERE task_id = $1 AND state <> 'done'");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Starts as many of the group's waiting tasks as it has free slots. Their work messages go into the
    /// outbox in the transaction that marks them running, and are relayed once it committed: a task
    /// never holds a slot without its work on the way, nor is its work sent twice by a commit that failed.
    /// </summary>
    public async Task<int> DispatchAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var configured = options.CurrentValue.Limits.TryGetValue(group, out var limit) ? limit : (int?)null;
        var parallels = await Scalar<int?>(connection, "SELECT parallels FROM task_groups WHERE name = $1 FOR UPDATE", group);
        if (parallels is null)
            return 0;
        var running = (int)await Scalar<long>(connection, "SELECT count(*) FROM group_members WHERE group_name = $1 AND state = 'running'", group);
        var free = (configured ?? parallels.Value) - running;
        if (free <= 0)
            return 0;

        var waiting = new List<(Guid TaskId, bool Ready, string? Dispatch, DateTimeOffset SubmittedAt)>();
        await using (var query = new NpgsqlCommand(
            "SELECT task_id, ready, dispatch::text, submitted_at FROM group_members WHERE group_name = $1 AND state = 'waiting' ORDER BY seq LIMIT $2",
            connection))
        {
            query.Parameters.AddWithValue(group);
            query.Parameters.AddWithValue(free + 16); // room to step over abandoned members
            await using var reader = await query.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                waiting.Add((reader.GetGuid(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        var now = time.GetUtcNow();
        var abandonBefore = now - TimeSpan.FromSeconds(options.CurrentValue.AbandonUnsubmittedAfterSeconds);
        var started = new List<OutboxMessage>();
        foreach (var member in waiting)
        {
            if (started.Count == free)
                break;
            if (!member.Ready)
            {
                if (member.SubmittedAt > abandonBefore)
                    break; // its submission is on its way: later tasks wait behind it
                logger.LogWarning("Task {TaskId} of group {Group} was never submitted; skipping it", member.TaskId, group);
                await Execute(connection, "UPDATE group_members SET state = 'done', released_at = $2 WHERE task_id = $1", member.TaskId, now);
                continue;
            }
            var dispatch = JsonSerializer.Deserialize<Dispatch>(member.Dispatch!)!;
            started.Add(OutboxMessage.Send(TaskHubBus.QueueAddress(dispatch.Queue), (object?)dispatch.Call ?? dispatch.Execute!));
            await Execute(connection, "UPDATE group_members SET state = 'running', dispatched_at = $2 WHERE task_id = $1", member.TaskId, now);
        }
        await outbox.InsertAsync(connection, transaction, started, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await relay.SendCommittedAsync(started);
        return started.Count;
    }

    static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        return command;
    }

    static async Task<T> Scalar<T>(NpgsqlConnection connection, string sql, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
            command.Parameters.AddWithValue(value);
        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default! : (T)result;
    }

    static async Task Execute(NpgsqlConnection connection, string sql, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
            command.Parameters.AddWithValue(value);
        await command.ExecuteNonQueryAsync();
    }
}
