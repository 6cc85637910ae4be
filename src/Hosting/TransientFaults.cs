using System.Net.Sockets;
using MassTransit;
using Npgsql;
using RabbitMQ.Client.Exceptions;

namespace TaskHub.Hosting;

/// <summary>
/// The one rule for faults that pass: the database or the broker restarting, a dropped connection, a
/// timeout. A message that meets one is retried in place until the outage is over, never sent to the
/// error queue; the error queue is for messages that can never succeed.
/// </summary>
public static class TransientFaults
{
    /// <summary>How long an outage a message waits out before it counts as failed: well past a restart of either server.</summary>
    public static readonly TimeSpan WaitedOut = TimeSpan.FromMinutes(5);

    // Server states that end when the server is back: shutting down, starting up, out of connections.
    static readonly HashSet<string> PassingSqlStates = ["57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004"];

    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.IsTransient || PassingSqlStates.Contains(postgres.SqlState),
        NpgsqlException npgsql => npgsql.IsTransient,
        TimeoutException or SocketException or IOException => true,
        RabbitMqConnectionException or BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsTransient),
        _ => exception.InnerException is { } inner && IsTransient(inner),
    };

    /// <summary>
    /// Retries transient faults with exponential backoff (0.1 s doubling to 5 s) for about
    /// <see cref="WaitedOut"/>: the message and its consumer slot wait, as everything behind them would anyway.
    /// </summary>
    public static void WaitOut(IRetryConfigurator retry)
    {
        retry.Handle<Exception>(IsTransient);
        retry.Exponential(RetriesFor(WaitedOut), TimeSpan.FromMilliseconds(100), MaxInterval, TimeSpan.FromMilliseconds(100));
    }

    static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="step"/> until it gets through a transient fault, with the same backoff and bound as
    /// <see cref="WaitOut"/>: for a step after which the message may no longer be retried as a whole (an
    /// outbound call has been made). The step must be safe to run again.
    /// </summary>
    public static async Task RetryInPlaceAsync(Func<Task> step, TimeProvider time, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var until = time.GetUtcNow() + WaitedOut;
        while (true)
        {
            try
            {
                await step();
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && time.GetUtcNow() < until && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay = delay * 2 < MaxInterval ? delay * 2 : MaxInterval;
            }
        }
    }

    /// <summary>Enough retries to span <paramref name="outage"/> once the backoff has reached its longest wait.</summary>
    static int RetriesFor(TimeSpan outage) => 6 + (int)Math.Ceiling(outage / MaxInterval);
}
