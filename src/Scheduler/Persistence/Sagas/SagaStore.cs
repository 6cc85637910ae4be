using MassTransit;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Persistence.Sagas;

/// <summary>
/// Loads and writes saga rows for all concurrent events of the Scheduler together: the loads queued
/// at one moment are one query, the writes one batch in one transaction. Under load that is one
/// round trip and one commit for many events instead of one per event (the saga's own share of the
/// Scheduler's and PostgreSQL's CPU); alone, an event goes at once.
/// </summary>
public sealed class SagaStore<TSaga, TDbContext> : IAsyncDisposable, IDisposable
    where TSaga : class, ISaga
    where TDbContext : DbContext
{
    // The saga endpoint's concurrency bounds a batch anyway; this only caps a statement's size.
    const int MaxBatch = 128;
    // A second round trip may start while one is in flight, so a batch never waits a whole one.
    const int ConcurrentFlushes = 2;

    // Compiled per store: a compiled query is bound to the one model it first ran with.
    readonly Func<DbContext, Guid[], IAsyncEnumerable<TSaga>> loadMany =
        EF.CompileAsyncQuery((DbContext db, Guid[] ids) => db.Set<TSaga>().AsNoTracking().Where(x => ids.Contains(x.CorrelationId)));

    readonly IDbContextFactory<TDbContext> contexts;
    readonly OutboxTable outbox;
    readonly OpportunisticBatcher<Guid, TSaga?> loads;
    readonly OpportunisticBatcher<SagaWrite<TSaga>, bool> writes;

    public SagaStore(IDbContextFactory<TDbContext> contexts, OutboxTable outbox)
    {
        this.contexts = contexts;
        this.outbox = outbox;
        using (var db = contexts.CreateDbContext())
            Table = new SagaTable<TSaga>(db);
        loads = new OpportunisticBatcher<Guid, TSaga?>(LoadBatchAsync, MaxBatch, ConcurrentFlushes);
        writes = new OpportunisticBatcher<SagaWrite<TSaga>, bool>(WriteBatchAsync, MaxBatch, ConcurrentFlushes);
    }

    internal SagaTable<TSaga> Table { get; }

    /// <summary>A fresh, untracked copy of the row, or null.</summary>
    public Task<TSaga?> LoadAsync(Guid correlationId) => loads.RunAsync(correlationId);

    /// <summary>False when the row exists already. <paramref name="messages"/> are written with the row, or not at all.</summary>
    public Task<bool> InsertAsync(TSaga saga, IReadOnlyList<OutboxMessage>? messages = null) => writes.RunAsync(new(SagaWriteKind.Insert, saga, messages));

    /// <summary>False when the row changed (or went) since <paramref name="saga"/> was loaded.</summary>
    public Task<bool> UpdateAsync(TSaga saga, IReadOnlyList<OutboxMessage>? messages = null) => writes.RunAsync(new(SagaWriteKind.Update, saga, messages));

    /// <inheritdoc cref="UpdateAsync"/>
    public Task<bool> DeleteAsync(TSaga saga, IReadOnlyList<OutboxMessage>? messages = null) => writes.RunAsync(new(SagaWriteKind.Delete, saga, messages));

    async Task<TSaga?[]> LoadBatchAsync(IReadOnlyList<Guid> ids)
    {
        await using var db = await contexts.CreateDbContextAsync();
        var found = new Dictionary<Guid, TSaga>(ids.Count);
        await foreach (var saga in loadMany(db, ids.Distinct().ToArray()))
            found[saga.CorrelationId] = saga;
        var results = new TSaga?[ids.Count];
        for (var i = 0; i < ids.Count; i++)
            // Each caller changes its own copy: the same id asked twice in one batch (rare) is read again.
            results[i] = found.Remove(ids[i], out var saga) ? saga
                : ids.Take(i).Contains(ids[i]) ? await loadMany(db, [ids[i]]).SingleOrDefaultAsync() : null;
        return results;
    }

    async Task<bool[]> WriteBatchAsync(IReadOnlyList<SagaWrite<TSaga>> batch)
    {
        await using var db = await contexts.CreateDbContextAsync();
        await db.Database.OpenConnectionAsync();
        // One batch is one implicit transaction: all of it commits, or none (and each write is then retried alone).
        await using var command = new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection());
        foreach (var write in batch)
            command.BatchCommands.Add(Table.Command(write, outbox));

        var versions = new uint?[batch.Count];
        await using (var reader = await command.ExecuteReaderAsync())
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (i > 0)
                    await reader.NextResultAsync();
                if (await reader.ReadAsync())
                    versions[i] = reader.GetFieldValue<uint>(0);
            }
        }
        // Only once the whole batch committed do the instances take their new versions.
        var written = new bool[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (versions[i] is not { } version)
                continue;
            written[i] = true;
            Table.SetVersion(batch[i].Saga, version);
        }
        return written;
    }

    public async ValueTask DisposeAsync()
    {
        await loads.DisposeAsync();
        await writes.DisposeAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
