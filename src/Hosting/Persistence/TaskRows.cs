namespace TaskHub.Hosting.Persistence;

/// <summary>
/// What goes with a task's row when it is deleted: its callback delivery and attempts, its finished group membership
/// and its released attempts (its hooks go by cascade). One statement for the retention sweep and an operator's delete
/// alike, so a table that comes to hang off a task is added here once.
/// </summary>
public static class TaskRows
{
    /// <summary>Deletes the tasks <paramref name="which"/> (a condition on <c>tasks</c>) with their dependants; answers how many tasks.</summary>
    public static string DeleteSql(string which) => $"""
        WITH deleted AS (DELETE FROM tasks WHERE {which} RETURNING id),
             deliveries AS (DELETE FROM callback_deliveries WHERE task_id IN (SELECT id FROM deleted)),
             attempts AS (DELETE FROM callback_attempts WHERE task_id IN (SELECT id FROM deleted)),
             members AS (DELETE FROM group_members WHERE state = 'done' AND task_id IN (SELECT id FROM deleted)),
             released AS (DELETE FROM released_attempts WHERE task_id IN (SELECT id FROM deleted))
        SELECT count(*) FROM deleted
        """;
}
