using MassTransit;
using Npgsql;
using TaskHub.Contracts.Transport;

namespace TaskHub.Worker.Execution;

/// <summary>
/// Keeps finished work from running again, and started work from running twice. A work message the broker delivers a
/// second time (its Worker died before acknowledging it) or the outbox sent again (<see cref="TaskHubHeaders.Resent"/>)
/// may be for a task that finished meanwhile, whose group slot already went to the next member: running it would put
/// two members of the group in flight. Such a message is dropped before it runs, by the task's row, as is one of a task
/// an operator cancelled. A first delivery of a first attempt costs nothing.
/// </summary>
public sealed class TaskFence(NpgsqlDataSource database, TimeProvider time, ILogger<TaskFence> logger)
{
    // Reads the task and takes the attempt if a Worker released it: a copy that runs holds it, a copy that is dropped
    // took it only when it could have run it.
    const string DecideSql = """
        WITH taken AS (
            UPDATE released_attempts SET taken_at = $3 WHERE task_id = $1 AND attempt = $2 AND taken_at IS NULL RETURNING 1)
        SELECT current_state, attempts, run_from, EXISTS (SELECT 1 FROM taken) FROM tasks WHERE id = $1
        """;

    const string ReleaseSql = """
        INSERT INTO released_attempts (task_id, attempt, released_at) VALUES ($1, $2, $3)
        ON CONFLICT (task_id, attempt) DO UPDATE SET released_at = EXCLUDED.released_at, taken_at = NULL
        """;

    /// <param name="attempt">The attempt the message starts with.</param>
    public async Task<bool> MayRunAsync(ConsumeContext context, Guid taskId, int attempt)
    {
        var resent = context.Headers.TryGetHeader(TaskHubHeaders.Resent, out _);
        // A later first attempt is a stored retry's or an operator's retry's: rare, and its task may have been cancelled
        // meanwhile. A consume retried after an outage may find the task finished, or its attempt released.
        if (!context.ReceiveContext.Redelivered && !resent && attempt == 1 && context.GetRetryAttempt() == 0)
            return true;
        await using var command = database.CreateCommand(DecideSql);
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(attempt);
        command.Parameters.AddWithValue(time.GetUtcNow());
        await using var reader = await command.ExecuteReaderAsync(context.CancellationToken);
        if (!await reader.ReadAsync(context.CancellationToken))
            return true;
        var (state, started, runFrom, released) = (reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetBoolean(3));
        if (state is "Succeeded" or "Failed" or "Cancelled")
        {
            logger.LogInformation("Task {TaskId} is {State} already: its repeated work message is dropped", taskId, state);
            return false;
        }
        if (attempt < runFrom)
        {
            logger.LogInformation("Task {TaskId} attempt {Attempt} belongs to a run an operator's retry replaced: its work message is dropped", taskId, attempt);
            return false;
        }
        // A resent copy of an attempt some Worker has reported on already: that Worker has the first copy, and should it
        // die, the broker hands that copy on (a redelivery, which runs, whichever copy it is). Unless that Worker let go of
        // it: then the broker may have lost its copy with its own crash, and this one runs, if the broker's redelivery did
        // not take it first.
        if (resent && !context.ReceiveContext.Redelivered && started >= attempt && !released)
        {
            logger.LogInformation("Task {TaskId} attempt {Attempt} is under way already: its resent work message is dropped", taskId, attempt);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Runs the attempts of a work message that may run (<see cref="MayRunAsync"/>). One that ends in an exception leaves
    /// the message unacknowledged, to the broker, which may have lost it: the attempt is released first.
    /// </summary>
    public async Task RunAsync(Guid taskId, int attempt, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch
        {
            await ReleaseAsync(taskId, attempt);
            throw;
        }
    }

    /// <summary>
    /// Records that this Worker leaves the attempt its work message started with unfinished (it stops, or its broker
    /// went away): the broker's redelivery runs it, or, should the broker have lost its copy, the outbox's resent one.
    /// </summary>
    async Task ReleaseAsync(Guid taskId, int attempt)
    {
        try
        {
            // The Worker may be stopping: a database that does not answer soon leaves the task to its deadline.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
            await using var command = database.CreateCommand(ReleaseSql);
            command.Parameters.AddWithValue(taskId);
            command.Parameters.AddWithValue(attempt);
            command.Parameters.AddWithValue(time.GetUtcNow());
            await command.ExecuteNonQueryAsync(timeout.Token);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Task {TaskId} attempt {Attempt} could not be released; should the broker have lost its work message, it ends at its deadline",
                taskId, attempt);
        }
    }
}
