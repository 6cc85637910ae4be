using MassTransit;
using MassTransit.Context;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace TaskHub.Scheduler.Persistence.Sagas;

/// <summary>
/// The unit of work of one message against one saga table. MassTransit calls, for an existing
/// instance, Load → behaviour → Update (or Delete when finalized); for a new one, Add → Save.
/// </summary>
sealed class EfSagaRepositoryContext<TSaga, TMessage> :
    ConsumeContextScope<TMessage>,
    SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
{
    readonly DbContext db;
    readonly ConsumeContext<TMessage> consumeContext;
    readonly ISagaConsumeContextFactory<DbContext, TSaga> factory;

    public EfSagaRepositoryContext(DbContext db, ConsumeContext<TMessage> consumeContext, ISagaConsumeContextFactory<DbContext, TSaga> factory)
        : base(consumeContext, db)
    {
        this.db = db;
        this.consumeContext = consumeContext;
        this.factory = factory;
    }

    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance) =>
        factory.CreateSagaConsumeContext(db, consumeContext, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        var entry = await db.Set<TSaga>().AddAsync(instance, CancellationToken);
        try
        {
            await db.SaveChangesAsync(CancellationToken);
            return await factory.CreateSagaConsumeContext(db, consumeContext, instance, SagaConsumeContextMode.Insert);
        }
        catch (DbUpdateException)
        {
            // Someone inserted it first: forget our copy so the normal Load path takes over.
            entry.State = EntityState.Detached;
            return default!;
        }
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var instance = await EfSagaQueries<TSaga>.LoadById(db, correlationId, CancellationToken);
        return instance is null
            ? default!
            : await factory.CreateSagaConsumeContext(db, consumeContext, instance, SagaConsumeContextMode.Load);
    }

    public async Task Save(SagaConsumeContext<TSaga> context)
    {
        await db.Set<TSaga>().AddAsync(context.Saga, CancellationToken);
        await SaveChanges();
    }

    public Task Update(SagaConsumeContext<TSaga> context) => SaveChanges();

    public Task Delete(SagaConsumeContext<TSaga> context)
    {
        db.Set<TSaga>().Remove(context.Saga);
        return SaveChanges();
    }

    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<TSaga> context)
    {
        foreach (var entry in db.ChangeTracker.Entries<TSaga>().Where(e => e.Entity.CorrelationId == context.Saga.CorrelationId))
            entry.State = EntityState.Unchanged;
        return Task.CompletedTask;
    }

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> context, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        factory.CreateSagaConsumeContext(db, context, instance, mode);

    /// <summary>
    /// Retry filters match an exception's own type, so both ways of losing a race become
    /// <see cref="ConcurrencyException"/>: a stale row version, and two first events inserting one id (23505).
    /// </summary>
    async Task SaveChanges()
    {
        try
        {
            await db.SaveChangesAsync(CancellationToken);
        }
        catch (DbUpdateConcurrencyException ex)
        {
            throw new ConcurrencyException($"{typeof(TSaga).Name} changed concurrently", typeof(TSaga), Guid.Empty, ex);
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            throw new ConcurrencyException($"{typeof(TSaga).Name} inserted concurrently", typeof(TSaga), Guid.Empty, ex);
        }
    }
}

/// <summary>Compiled once per saga type: every event loads its instance by id, and a compiled query skips EF's per-call expression work.</summary>
static class EfSagaQueries<TSaga> where TSaga : class, ISaga
{
    public static readonly Func<DbContext, Guid, CancellationToken, Task<TSaga?>> LoadById =
        EF.CompileAsyncQuery((DbContext db, Guid id, CancellationToken _) => db.Set<TSaga>().SingleOrDefault(x => x.CorrelationId == id));
}
