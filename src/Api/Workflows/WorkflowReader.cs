using System.Text.Json;
using Npgsql;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Api.Workflows;

/// <summary>A workflow with every member and its state: tasks as their rows say, nested workflows with their own members.</summary>
public sealed record WorkflowView(Guid Id, string Kind, string Status, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, JsonElement? Result,
    string? Error, IReadOnlyList<WorkflowMemberView> Members);

/// <summary>
/// One member: a task (<c>kind</c> task, with its <c>name</c>) or a nested workflow (<c>kind</c> chain, group or chord, with its
/// <c>members</c>). <c>status</c> is a task status, or PENDING while the workflow has not started it. <c>callback</c>: a chord's callback.
/// </summary>
public sealed record WorkflowMemberView(int Index, Guid Id, string Kind, string? Name, string Status, JsonElement? Result, string? Error, bool Callback,
    IReadOnlyList<WorkflowMemberView>? Members);

/// <summary>Reads the workflow table the Scheduler owns, and its members' tasks. An expired workflow reads as absent.</summary>
public sealed class WorkflowReader(NpgsqlDataSource database, TimeProvider time)
{
    /// <summary>A member the workflow has not started yet.</summary>
    public const string Pending = "PENDING";

    sealed record Row(Guid Id, string State, WorkflowSpec Spec, MemberProgress[] Members, string? Result, string? Error, DateTimeOffset CreatedAt,
        DateTimeOffset? FinishedAt);

    sealed record TaskRow(string State, string? Response, string? Error);

    /// <param name="owner">Only a workflow of this owner (someone else's reads as absent); null: anyone's.</param>
    public async Task<WorkflowView?> FindAsync(Guid id, string? owner, CancellationToken cancellationToken)
    {
        var top = await ReadWorkflowsAsync([id], owner, cancellationToken);
        return top.TryGetValue(id, out var row) ? await ViewAsync(row, cancellationToken) : null;
    }

    async Task<WorkflowView> ViewAsync(Row row, CancellationToken cancellationToken)
    {
        var steps = row.Spec.Members.ToList();
        var tasks = await ReadTasksAsync(steps.Where(s => s.Task is not null).Select(s => s.Id).ToArray(), cancellationToken);
        var nested = await ReadWorkflowsAsync(steps.Where(s => s.Workflow is not null).Select(s => s.Id).ToArray(), null, cancellationToken);
        var members = new List<WorkflowMemberView>();
        for (var i = 0; i < steps.Count; i++)
        {
            var (step, progress, callback) = (steps[i], row.Members[i], i == row.Spec.Steps.Count);
            if (step.Task is { } task)
            {
                var found = tasks.GetValueOrDefault(step.Id);
                members.Add(found is null
                    ? new WorkflowMemberView(i, step.Id, "task", task.Signature.Name, StatusOf(progress), Json(progress.Result), progress.Error, callback, null)
                    : new WorkflowMemberView(i, step.Id, "task", task.Signature.Name, TaskStatuses.FromSagaState(found.State), Json(found.Response),
                        found.Error, callback, null));
            }
            else if (nested.TryGetValue(step.Id, out var child))
            {
                var view = await ViewAsync(child, cancellationToken);
                members.Add(new WorkflowMemberView(i, step.Id, view.Kind, null, view.Status, view.Result, view.Error, callback, view.Members));
            }
            else
                members.Add(new WorkflowMemberView(i, step.Id, KindOf(step.Workflow!), null, StatusOf(progress), Json(progress.Result), progress.Error,
                    callback, null));
        }
        return new WorkflowView(row.Id, KindOf(row.Spec), TaskStatuses.FromSagaState(row.State), row.CreatedAt, row.FinishedAt, Json(row.Result), row.Error,
            members);
    }

    /// <summary>A member without a row of its own (not created yet, or its result expired before the workflow's): as the workflow recorded it.</summary>
    static string StatusOf(MemberProgress progress) => progress.Succeeded switch
    {
        true => TaskStatuses.Success,
        false => TaskStatuses.Failure,
        null => progress.Started ? TaskStatuses.Waiting : Pending,
    };

    static string KindOf(WorkflowSpec spec) => spec.Kind.ToString().ToLowerInvariant();

    static JsonElement? Json(string? text) => text is null ? null : JsonDocument.Parse(text, PassedResults.Depth).RootElement.Clone();

    async Task<Dictionary<Guid, Row>> ReadWorkflowsAsync(Guid[] ids, string? owner, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<Guid, Row>();
        if (ids.Length == 0)
            return rows;
        await using var command = database.CreateCommand("""
            SELECT id, current_state, spec::text, members::text, result::text, error, created_at, finished_at
            FROM workflows WHERE id = ANY($1) AND (expires_at IS NULL OR expires_at > $2) AND ($3::text IS NULL OR owner = $3)
            """);
        command.Parameters.AddWithValue(ids);
        command.Parameters.AddWithValue(time.GetUtcNow());
        command.Parameters.Add(Tasks.TaskReader.TextParameter(owner));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows[reader.GetGuid(0)] = new Row(reader.GetGuid(0), reader.GetString(1),
                JsonSerializer.Deserialize<WorkflowSpec>(reader.GetString(2), WorkflowJson.Options)!,
                JsonSerializer.Deserialize<MemberProgress[]>(reader.GetString(3), WorkflowJson.Options)!,
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7));
        return rows;
    }

    async Task<Dictionary<Guid, TaskRow>> ReadTasksAsync(Guid[] ids, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<Guid, TaskRow>();
        if (ids.Length == 0)
            return rows;
        await using var command = database.CreateCommand("SELECT id, current_state, response::text, error FROM tasks WHERE id = ANY($1)");
        command.Parameters.AddWithValue(ids);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows[reader.GetGuid(0)] = new TaskRow(reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3));
        return rows;
    }
}
