using MassTransit;
using Npgsql;
using TaskHub.Contracts.Transport;

namespace TaskHub.Worker.Execution;

/// <summary>
/// Keeps finished work from running again. A work message the broker delivers a second time (its
/// Worker died before acknowledging it) or the outbox sent again (<see cref="TaskHubHeaders.Resent"/>)
/// may be for a task that finished meanwhile, whose group slot already went to the next member:
/// running it would put two members of the group in flight. Such a message is dropped before it runs,
/// by the task's row. A first delivery costs nothing.
/// </summary>
public sealed class TaskFence(NpgsqlDataSource database, ILogger<TaskFence> logger)
{
    public async Task<bool> MayRunAsync(ConsumeContext context, Guid taskId)
    {
        if (!context.ReceiveContext.Redelivered && !context.Headers.TryGetHeader(TaskHubHeaders.Resent, out _))
            return true;
        await using var command = database.CreateCommand("SELECT current_state FROM tasks WHERE id = $1");
        command.Parameters.AddWithValue(taskId);
        var state = await command.ExecuteScalarAsync(context.CancellationToken) as string;
        if (state is not ("Succeeded" or "Failed"))
            return true;
        logger.LogInformation("Task {TaskId} is {State} already: its repeated work message is dropped", taskId, state);
        return false;
    }
}
