using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Contracts.Messages;

namespace TaskHub.Scheduler.Callbacks;

/// <summary>
/// Sends the next attempt of every task callback whose retry came due, or whose attempt's claim lapsed
/// (its Scheduler died mid-attempt). Each found delivery's due time is moved on by a resend lease and
/// carried in its message, so only that message takes the attempt, and one that never arrives is found
/// again when the lease lapses. Several Schedulers poll at once: each row goes to one of them.
/// </summary>
public sealed class DueCallbackDeliveries(
    NpgsqlDataSource database,
    IBus bus,
    IOptions<CallbackDeliveryOptions> options,
    TimeProvider time,
    ILogger<DueCallbackDeliveries> logger) : BackgroundService
{
    /// <summary>How long a resent attempt's message has to arrive before the delivery is found again.</summary>
    static readonly TimeSpan ResendLease = TimeSpan.FromSeconds(30);

    const int BatchSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await SendDueAsync(stoppingToken) == BatchSize) { }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Could not look for task callbacks due again ({Error}); trying again", ex.Message);
            }
            await Task.Delay(options.Value.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sends an attempt for each delivery due now; returns how many.</summary>
    public async Task<int> SendDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = database.CreateCommand("""
            UPDATE callback_deliveries d SET next_attempt_at = $2
            FROM (SELECT task_id FROM callback_deliveries
                  WHERE delivered_at IS NULL AND gave_up_at IS NULL AND body IS NOT NULL AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
            WHERE d.task_id = due.task_id
            RETURNING d.task_id, d.url, d.body, d.next_attempt_at
            """);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(now + ResendLease);
        command.Parameters.AddWithValue(BatchSize);
        var due = new List<DeliverTaskCallback>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            // The due time as stored (microseconds), so the consumer's claim matches it exactly.
            while (await reader.ReadAsync(cancellationToken))
                due.Add(new DeliverTaskCallback(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }
        foreach (var delivery in due)
            await bus.Publish(delivery, cancellationToken);
        return due.Count;
    }
}
