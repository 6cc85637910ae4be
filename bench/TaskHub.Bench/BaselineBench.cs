using System.Diagnostics;
using System.Text.Json;
using System.Threading.RateLimiting;
using Npgsql;
using RabbitMQ.Client.Events;
using RabbitMQ.Client;

namespace TaskHub.Bench;

/// <summary>
/// (1) The bare baseline: the same durable lifecycle with no framework. A publisher sends each
/// task persistent, with publisher confirms; a consumer inserts the task row, marks it running,
/// runs a no-op, marks it succeeded (three autocommit statements) and acks. Own vhost, own
/// database (<c>taskhub_bench</c>) and own table, so it never touches TaskHub's schema.
/// </summary>
public sealed class BaselineBench(Stack stack, BenchOptions options)
{
    public const string Database = "taskhub_bench";
    const string Queue = "bench.tasks";

    sealed record BareTask(Guid Id, string Name, JsonElement Args, DateTimeOffset SubmittedAt);

    public async Task<PathResult> RunAsync(string runId, int count, CancellationToken cancellationToken)
    {
        var vhost = $"bench_{runId}_bare";
        var table = $"bench_tasks_{runId}";
        var broker = await stack.CreateVirtualHostAsync(vhost);
        await stack.CreateDatabaseAsync(Database, ifMissing: true);
        await using var db = NpgsqlDataSource.Create(stack.WithDatabase(Database, maxPoolSize: options.BaselineConcurrency + 4));
        try
        {
            await using (var create = db.CreateCommand($"""
                DROP TABLE IF EXISTS {table};
                CREATE TABLE {table} (
                    id uuid PRIMARY KEY, state varchar(64) NOT NULL, name text NOT NULL, args jsonb NOT NULL,
                    created_at timestamptz NOT NULL, started_at timestamptz, finished_at timestamptz)
                """))
                await create.ExecuteNonQueryAsync(cancellationToken);

            var factory = new ConnectionFactory { Uri = broker, ClientProvidedName = "taskhub-bench-baseline" };
            await using var consumerConnection = await factory.CreateConnectionAsync(cancellationToken);
            await using var publisherConnection = await factory.CreateConnectionAsync(cancellationToken);
            await using var consumerChannel = await consumerConnection.CreateChannelAsync(
                new CreateChannelOptions(false, false, consumerDispatchConcurrency: (ushort)options.BaselineConcurrency), cancellationToken);
            // Confirms tracked, at most PublishWindow awaiting theirs. Not RabbitMQ.Client's default
            // ThrottlingRateLimiter: past half its permits it sleeps 0.5-1 s before every publish, which
            // held this baseline to ~290 tasks/s (about 256 publishes per second).
            using var confirmWindow = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = options.PublishWindow, QueueLimit = options.PublishWindow });
            await using var publisher = await publisherConnection.CreateChannelAsync(new CreateChannelOptions(true, true, confirmWindow), cancellationToken);
            await consumerChannel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
            await consumerChannel.BasicQosAsync(0, (ushort)options.BaselinePrefetch, false, cancellationToken);

            var done = 0;
            var target = 0;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Exception? failure = null;
            var insert = $"INSERT INTO {table} (id, state, name, args, created_at) VALUES ($1, 'Pending', $2, $3::jsonb, $4)";
            var running = $"UPDATE {table} SET state = 'Running', started_at = $2 WHERE id = $1";
            var succeeded = $"UPDATE {table} SET state = 'Succeeded', finished_at = $2 WHERE id = $1";

            var consumer = new AsyncEventingBasicConsumer(consumerChannel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                try
                {
                    var task = JsonSerializer.Deserialize<BareTask>(delivery.Body.Span)!;
                    await using (var connection = await db.OpenConnectionAsync())
                    {
                        await using (var cmd = new NpgsqlCommand(insert, connection))
                        {
                            cmd.Parameters.AddWithValue(task.Id);
                            cmd.Parameters.AddWithValue(task.Name);
                            cmd.Parameters.AddWithValue(task.Args.GetRawText());
                            cmd.Parameters.AddWithValue(task.SubmittedAt);
                            await cmd.ExecuteNonQueryAsync();
                        }
                        await using (var cmd = new NpgsqlCommand(running, connection))
                        {
                            cmd.Parameters.AddWithValue(task.Id);
                            cmd.Parameters.AddWithValue(DateTimeOffset.UtcNow);
                            await cmd.ExecuteNonQueryAsync();
                        }
                        Noop();
                        await using (var cmd = new NpgsqlCommand(succeeded, connection))
                        {
                            cmd.Parameters.AddWithValue(task.Id);
                            cmd.Parameters.AddWithValue(DateTimeOffset.UtcNow);
                            await cmd.ExecuteNonQueryAsync();
                        }
                    }
                    await consumerChannel.BasicAckAsync(delivery.DeliveryTag, false);
                    if (Interlocked.Increment(ref done) == Volatile.Read(ref target))
                        reached.TrySetResult();
                }
                catch (Exception ex)
                {
                    failure ??= ex;
                    reached.TrySetException(ex);
                }
            };
            await consumerChannel.BasicConsumeAsync(Queue, autoAck: false, consumer, cancellationToken);

            var submitted = 0;
            async Task Publish(int n, DateTimeOffset? notBefore)
            {
                var args = JsonSerializer.SerializeToElement(Array.Empty<object>());
                var window = new SemaphoreSlim(options.PublishWindow);
                var pending = new List<Task>(n);
                for (var i = 0; i < n; i++)
                {
                    await window.WaitAsync(cancellationToken);
                    pending.Add(PublishOne());
                }
                await Task.WhenAll(pending);

                async Task PublishOne()
                {
                    try
                    {
                        var body = JsonSerializer.SerializeToUtf8Bytes(new BareTask(Guid.NewGuid(), "Noop", args, DateTimeOffset.UtcNow));
                        var props = new BasicProperties { Persistent = true, ContentType = "application/json" };
                        await publisher.BasicPublishAsync("", Queue, mandatory: true, props, body, cancellationToken);
                        Interlocked.Increment(ref submitted);
                    }
                    finally
                    {
                        window.Release();
                    }
                }
            }

            async Task RunUntil(int n, int expectedDone)
            {
                Volatile.Write(ref target, expectedDone);
                if (Volatile.Read(ref done) >= expectedDone) reached.TrySetResult();
                await Publish(n, null);
                await reached.Task.WaitAsync(TimeSpan.FromMinutes(8), cancellationToken);
            }

            // Warm-up: JIT, pools and the queue, not measured.
            await RunUntil(options.Warmup, options.Warmup);
            reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

            var from = DateTimeOffset.UtcNow;
            var startDone = done;
            submitted = 0;
            var cpu = new CpuMeter();
            var clock = Stopwatch.StartNew();
            await using (new Progress("(1) baseline", count, () => (submitted, done - startDone)))
                await RunUntil(count, options.Warmup + count);
            var seconds = clock.Elapsed.TotalSeconds;
            var used = cpu.Stop();
            if (failure is not null) throw new InvalidOperationException("baseline consumer failed", failure);
            var latency = await Latency.QueryAsync(db, table, "state", "Succeeded", from);
            return new PathResult("(1) bare RabbitMQ.Client + Npgsql", count, seconds, latency, used);
        }
        finally
        {
            if (!options.Keep)
            {
                await using (var drop = db.CreateCommand($"DROP TABLE IF EXISTS {table}"))
                    await drop.ExecuteNonQueryAsync(CancellationToken.None);
                await stack.DeleteVirtualHostAsync(vhost);
            }
        }
    }

    static void Noop() { }
}
