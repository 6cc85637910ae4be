using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using TaskHub.Contracts.Options;

namespace TaskHub.Hosting.Health;

/// <summary>
/// Whether the broker answers, from a connection of this check's own that RabbitMQ's client keeps
/// open and recovers: it closes the moment the broker goes and reopens within a second of its return.
/// MassTransit's own bus check follows receive endpoints, and a process with none (the Api) would
/// look healthy with the broker down.
/// </summary>
public sealed class BrokerHealthCheck(IOptions<AsyncTaskOptions> options, TimeProvider time) : IHealthCheck, IAsyncDisposable
{
    readonly SemaphoreSlim opening = new(1, 1);
    IConnection? connection;
    DateTimeOffset nextTry = DateTimeOffset.MinValue;
    string lastError = "not connected yet";

    /// <summary>Whether this check's connection is open now (no I/O).</summary>
    public bool IsConnected => connection is { IsOpen: true };

    /// <summary>Opens the connection when none was opened yet, without waiting for it.</summary>
    public void Connect()
    {
        if (connection is null)
            _ = OpenAsync(CancellationToken.None);
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (connection is { IsOpen: true })
            return HealthCheckResult.Healthy();
        if (connection is not null)
            return HealthCheckResult.Unhealthy("the broker connection is down (recovering)");
        await OpenAsync(cancellationToken);
        return connection is { IsOpen: true } ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"the broker is not reachable: {lastError}");
    }

    async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() < nextTry || !await opening.WaitAsync(0, cancellationToken))
            return;
        try
        {
            if (connection is not null)
                return;
            var factory = new ConnectionFactory
            {
                Uri = new Uri(options.Value.Broker),
                AutomaticRecoveryEnabled = true,
                TopologyRecoveryEnabled = false,
                NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
                RequestedConnectionTimeout = TimeSpan.FromSeconds(2),
                ClientProvidedName = "taskhub-health",
            };
            connection = await factory.CreateConnectionAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            lastError = ex.Message;
            nextTry = time.GetUtcNow().AddSeconds(1);
        }
        finally
        {
            opening.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (connection is not null)
            await connection.DisposeAsync();
    }
}
