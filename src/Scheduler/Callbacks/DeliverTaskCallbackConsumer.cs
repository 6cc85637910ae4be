using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Hosting;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>
/// Makes one attempt to deliver a finished task's outcome to its callback URL. The delivery's row
/// (<c>callback_deliveries</c>) is claimed for that one attempt, so a repeated message, or a second
/// Scheduler, neither calls the URL twice nor takes an attempt in progress. A failed attempt leaves the
/// row due again after the retry's wait (<see cref="CallbackDeliveryOptions.Retry"/>), where
/// <see cref="DueCallbackDeliveries"/> finds it: no message or consumer slot waits meanwhile. A
/// Scheduler that died mid-attempt leaves a claim that lapses and is found the same way.
/// </summary>
public sealed class DeliverTaskCallbackConsumer(
    NpgsqlDataSource database,
    CallbackSender sender,
    IOptionsMonitor<CallbackDeliveryOptions> options,
    IOptions<OutboundOptions> outbound,
    TimeProvider time,
    TaskHubMetrics metrics,
    ILogger<DeliverTaskCallbackConsumer> logger) : IConsumer<DeliverTaskCallback>
{
    public async Task Consume(ConsumeContext<DeliverTaskCallback> context)
    {
        var message = context.Message;
        if (await ClaimAsync(message, context.CancellationToken) is not { } attempt)
            return;

        // In the trace the task was submitted in (whoever confirmed it), linked to the one that finished it.
        using var span = StartDelivery(message);
        AttemptResult result;
        try
        {
            result = await sender.AttemptAsync(HttpMethod.Post, message.Url, message.Body, message.TaskId.ToString(), attempt, null, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // Stopping: give the attempt back, so another Scheduler need not wait out the claim.
            await SetDueAsync(message.TaskId, time.GetUtcNow(), attempt - 1, CancellationToken.None);
            throw;
        }
        metrics.CallbackDelivered(result.Succeeded ? TaskHubMetrics.Success : TaskHubMetrics.Failure);
        // The URL has been called: what follows must not fail the message, whose retry would find this
        // attempt's own claim and drop it, leaving the delivery to be made again when the claim lapses.
        await TransientFaults.RetryInPlaceAsync(() => RecordOutcomeAsync(message, attempt, result, context.CancellationToken), time, context.CancellationToken);
    }

    static Activity? StartDelivery(DeliverTaskCallback message)
    {
        if (!ActivityContext.TryParse(message.TraceParent, null, out var submitted))
            return TaskHubTelemetry.Source.StartActivity("taskhub.callback.deliver")?.SetTag("taskhub.task.id", message.TaskId);
        return TaskHubTelemetry.Source.StartActivity("taskhub.callback.deliver", ActivityKind.Internal, submitted, links: TaskHubTelemetry.LinkToCurrent())
            ?.SetTag("taskhub.task.id", message.TaskId);
    }

    async Task RecordOutcomeAsync(DeliverTaskCallback message, int attempt, AttemptResult result, CancellationToken cancellationToken)
    {
        await RecordAsync(message.TaskId, result, cancellationToken);
        var retry = options.CurrentValue.Retry;
        var now = time.GetUtcNow();
        if (result.Succeeded)
            await SettleAsync(message.TaskId, "delivered_at", now, cancellationToken);
        else if (result.IsPermanent || !retry.RetriesAfter(attempt))
        {
            await SettleAsync(message.TaskId, "gave_up_at", now, cancellationToken);
            logger.LogWarning("Gave up delivering the callback of task {TaskId} to {Url} after {Attempts} attempts: {Error}",
                message.TaskId, message.Url, attempt, result.Error);
        }
        else
            await SetDueAsync(message.TaskId, now + retry.DelayAfter(attempt, Random.Shared), attempt, cancellationToken);
    }

    /// <summary>One attempt: as long as the outbound client waits for an answer, and a little more.</summary>
    TimeSpan Claim => TimeSpan.FromSeconds(outbound.Value.TimeoutSeconds + 5);

    /// <summary>
    /// Takes the delivery's next attempt (creating the delivery on its first message); its number, or null
    /// when the delivery is done, given up, being attempted, or not due. A retry's message
    /// (<see cref="DeliverTaskCallback.DueAt"/>) takes the attempt it was sent for.
    /// </summary>
    async Task<int?> ClaimAsync(DeliverTaskCallback message, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = database.CreateCommand("""
            INSERT INTO callback_deliveries (task_id, url, body, attempts, next_attempt_at) VALUES ($1, $2, $3, 1, $4)
            ON CONFLICT (task_id) DO UPDATE SET attempts = callback_deliveries.attempts + 1, next_attempt_at = $4,
                    body = coalesce(callback_deliveries.body, EXCLUDED.body)
                WHERE callback_deliveries.delivered_at IS NULL AND callback_deliveries.gave_up_at IS NULL
                  AND (callback_deliveries.next_attempt_at <= $5 OR callback_deliveries.next_attempt_at = $6
                       -- opened again by an operator's retry: the new outcome's first attempt
                       OR callback_deliveries.body IS NULL)
            RETURNING attempts
            """);
        command.Parameters.AddWithValue(message.TaskId);
        command.Parameters.AddWithValue(message.Url);
        command.Parameters.AddWithValue(message.Body);
        command.Parameters.AddWithValue(now + Claim);
        command.Parameters.AddWithValue(now);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = message.DueAt, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        return await command.ExecuteScalarAsync(cancellationToken) as int?;
    }

    async Task SetDueAsync(Guid taskId, DateTimeOffset dueAt, int attempts, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE callback_deliveries SET next_attempt_at = $2, attempts = $3 WHERE task_id = $1");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(dueAt);
        command.Parameters.AddWithValue(attempts);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task SettleAsync(Guid taskId, string column, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"UPDATE callback_deliveries SET {column} = $2, next_attempt_at = NULL WHERE task_id = $1");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(at);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task RecordAsync(Guid taskId, AttemptResult attempt, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            INSERT INTO callback_attempts (task_id, attempt, at, http_status, error) SELECT $1, $2, $3, $4, $5
            WHERE NOT EXISTS (SELECT 1 FROM callback_attempts WHERE task_id = $1 AND attempt = $2)
            """);
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(attempt.Attempt);
        command.Parameters.AddWithValue(attempt.At);
        command.Parameters.AddWithValue((object?)attempt.HttpStatus ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)attempt.Error ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
