using MassTransit;
using Npgsql;
using TaskHub.Contracts.Transport;

namespace TaskHub.Worker.Execution;

/// <summary>
/// Keeps finished work from running again. A work message the broker delivers a second time (its
/// Worker died before acknowledging it) or the outbox sent again (<see cref="TaskHubHeaders.Resent"/>)
/// may be for a task that finished meanwhile, whose group slot already went to the next member:
/// running it would put two members of the group in flight. Such a message is dropped before it runs,
/// by the task's row, as is one of a task an operator cancelled. A first delivery of a first attempt costs nothing.
/// </summary>
public sealed class TaskFence(NpgsqlDataSource database, ILogger<TaskFence> logger)
{
    /// <param name="attempt">The attempt the message starts with.</param>
    public async Task<bool> MayRunAsync(ConsumeContext context, Guid taskId, int attempt)
    {
        var resent = context.Headers.TryGetHeader(TaskHubHeaders.Resent, out _);
        // A later first attempt is a stored retry's or an operator's retry's: rare, and its task may have been cancelled meanwhile.
        if (!context.ReceiveContext.Redelivered && !resent && attempt == 1)
            return true;
        await using var command = database.CreateCommand("SELECT current_state, attempts, run_from FROM tasks WHERE id = $1");
        command.Parameters.AddWithValue(taskId);
        await using var reader = await command.ExecuteReaderAsync(context.CancellationToken);
        if (!await reader.ReadAsync(context.CancellationToken))
            return true;
        var (state, started, runFrom) = (reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2));
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
        // A resent copy of an attempt some Worker has reported on already: that Worker has the first copy, and
        // should it die, the broker hands that copy on (a redelivery, which runs).
        if (resent && started >= attempt)
        {
            logger.LogInformation("Task {TaskId} attempt {Attempt} is under way already: its resent work message is dropped", taskId, attempt);
            return false;
        }
        return true;
    }
}
