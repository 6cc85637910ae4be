using System.Threading.Channels;
using Npgsql;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// Tells the waiters of every Api instance that a put or a reply has committed. This process's
/// waiters are woken at once; the other instances hear it through PostgreSQL's notifications, sent
/// after the write's commit from one connection, many keys to a transaction. A notification in the
/// write's own statement held PostgreSQL's global notification lock through every put's and reply's
/// commit, one commit at a time; here a burst of writes costs one such commit. Should this process
/// stop between a commit and its notification, the other instances' waiters find the write at their
/// next fallback look (<see cref="PullQueueOptions.PollFallbackMs"/>).
/// </summary>
public sealed class QueueNotifications(NpgsqlDataSource database, QueueSignals signals, ILogger<QueueNotifications> logger) : BackgroundService
{
    public const string Channel = "taskhub_pull_queue";

    /// <summary>Most keys sent in one transaction.</summary>
    const int MaxKeysPerSend = 256;

    /// <summary>Marks this process's notifications, which its listener skips: its waiters were woken already.</summary>
    readonly string _instance = Guid.NewGuid().ToString("N");

    readonly Channel<string> _pending = System.Threading.Channels.Channel.CreateUnbounded<string>(
        new UnboundedChannelOptions { SingleReader = true });

    public void Announce(string key)
    {
        signals.Wake(key);
        _pending.Writer.TryWrite(key);
    }

    /// <summary>The key a notification carries, or null when this process sent it.</summary>
    public string? KeyOf(string payload)
    {
        var split = payload.IndexOf('\n');
        return split < 0 || payload.AsSpan(0, split).SequenceEqual(_instance) ? null : payload[(split + 1)..];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (await _pending.Reader.WaitToReadAsync(stoppingToken))
        {
            while (keys.Count < MaxKeysPerSend && _pending.Reader.TryRead(out var key))
                keys.Add(key);
            try
            {
                await SendAsync(keys, stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(ex, "Pull queue notifications to other instances not sent; their waiters look again at their fallback interval");
            }
            keys.Clear();
        }
    }

    async Task SendAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        foreach (var key in keys)
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_notify('{Channel}', $1)")
                { Parameters = { new NpgsqlParameter<string> { TypedValue = $"{_instance}\n{key}" } } });
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
