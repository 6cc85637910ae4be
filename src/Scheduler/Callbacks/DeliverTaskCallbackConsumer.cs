using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>
/// Delivers a finished task's outcome to its callback URL. The delivery row is claimed for a
/// bounded time, so a duplicate message (or a second Scheduler) neither calls the URL twice
/// nor steals a delivery in progress; a delivery whose consumer died is taken over once its claim lapses.
/// </summary>
public sealed class DeliverTaskCallbackConsumer(
    NpgsqlDataSource database,
    CallbackSender sender,
    IOptionsMonitor<CallbackDeliveryOptions> options,
    TimeProvider time,
    ILogger<DeliverTaskCallbackConsumer> logger) : IConsumer<DeliverTaskCallback>
{
    public async Task Consume(ConsumeContext<DeliverTaskCallback> context)
    {
        var message = context.Message;
        if (!await ClaimAsync(message, context.CancellationToken))
            return;

        var result = await sender.SendAsync(HttpMethod.Post, message.Url, message.Body, message.TaskId.ToString(),
            attempt => RecordAsync(message.TaskId, attempt, context.CancellationToken), context.CancellationToken);

        await using var done = database.CreateCommand(result.Succeeded
            ? "UPDATE callback_deliveries SET delivered_at = $2, claimed_until = NULL WHERE task_id = $1"
            : "UPDATE callback_deliveries SET gave_up_at = $2, claimed_until = NULL WHERE task_id = $1");
        done.Parameters.AddWithValue(message.TaskId);
        done.Parameters.AddWithValue(time.GetUtcNow());
        await done.ExecuteNonQueryAsync(context.CancellationToken);
        if (!result.Succeeded)
            logger.LogWarning("Gave up delivering the callback of task {TaskId} to {Url}: {Error}", message.TaskId, message.Url, result.Error);
    }

    async Task<bool> ClaimAsync(DeliverTaskCallback message, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var claim = now + options.CurrentValue.LongestDelivery;
        await using var command = database.CreateCommand("""
            INSERT INTO callback_deliveries (task_id, url, claimed_until) VALUES ($1, $2, $3)
            ON CONFLICT (task_id) DO UPDATE SET claimed_until = $3
                WHERE callback_deliveries.delivered_at IS NULL AND callback_deliveries.gave_up_at IS NULL
                  AND callback_deliveries.claimed_until < $4
            RETURNING task_id
            """);
        command.Parameters.AddWithValue(message.TaskId);
        command.Parameters.AddWithValue(message.Url);
        command.Parameters.AddWithValue(claim);
        command.Parameters.AddWithValue(now);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    async Task RecordAsync(Guid taskId, AttemptResult attempt, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "INSERT INTO callback_attempts (task_id, attempt, at, http_status, error) VALUES ($1, $2, $3, $4, $5)");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(attempt.Attempt);
        command.Parameters.AddWithValue(attempt.At);
        command.Parameters.AddWithValue((object?)attempt.HttpStatus ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)attempt.Error ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
