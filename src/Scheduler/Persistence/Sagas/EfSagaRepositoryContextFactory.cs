using MassTransit;
using MassTransit.Middleware;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;

namespace TaskHub.Scheduler.Persistence.Sagas;

/// <summary>
/// A saga repository on EF Core, built on MassTransit's public repository interfaces
/// (MassTransit.EntityFrameworkCore is not available to us). The EF model maps the table; the rows of
/// concurrent events are loaded and written together by <see cref="SagaStore{TSaga,TDbContext}"/>.
/// Optimistic concurrency through the saga's row version: a lost race surfaces as
/// <see cref="ConcurrencyException"/>, which the endpoint's retry filter replays.
/// </summary>
public sealed class EfSagaRepositoryContextFactory<TSaga, TDbContext>(
    IDbContextFactory<TDbContext> dbContexts,
    SagaStore<TSaga, TDbContext> store,
    ISagaConsumeContextFactory<SagaStore<TSaga, TDbContext>, TSaga> consumeContexts) :
    ISagaRepositoryContextFactory<TSaga>,
    IQuerySagaRepositoryContextFactory<TSaga>,
    ILoadSagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISaga
    where TDbContext : DbContext
{
    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next) where T : class =>
        next.Send(new EfSagaRepositoryContext<TSaga, T, TDbContext>(store, context, consumeContexts));

    public async Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next)
        where T : class
    {
        List<TSaga> instances;
        await using (var db = await dbContexts.CreateDbContextAsync(context.CancellationToken))
            instances = await db.Set<TSaga>().AsNoTracking().Where(query.FilterExpression).ToListAsync(context.CancellationToken);
        var repository = new EfSagaRepositoryContext<TSaga, T, TDbContext>(store, context, consumeContexts, instances);
        await next.Send(new LoadedSagaRepositoryQueryContext<TSaga, T>(repository, instances));
    }

    public async Task<T> Execute<T>(Func<LoadSagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class
    {
        await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
        return await asyncMethod(new EfSagaReadContext<TSaga>(db, cancellationToken));
    }

    public async Task<T> Execute<T>(Func<QuerySagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class
    {
        await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
        return await asyncMethod(new EfSagaReadContext<TSaga>(db, cancellationToken));
    }

    public void Probe(ProbeContext context) => context.Add("persistence", "efcore-postgres");
}

/// <summary>Read-only access for <c>ILoadSagaRepository</c> / <c>IQuerySagaRepository</c>.</summary>
sealed class EfSagaReadContext<TSaga>(DbContext db, CancellationToken cancellationToken) :
    BasePipeContext(cancellationToken),
    QuerySagaRepositoryContext<TSaga>,
    LoadSagaRepositoryContext<TSaga>
    where TSaga : class, ISaga
{
    public Task<TSaga> Load(Guid correlationId) =>
        db.Set<TSaga>().AsNoTracking().SingleOrDefaultAsync(x => x.CorrelationId == correlationId, CancellationToken)!;

    public async Task<SagaRepositoryQueryContext<TSaga>> Query(ISagaQuery<TSaga> query, CancellationToken cancellationToken = default)
    {
        var ids = await db.Set<TSaga>().AsNoTracking().Where(query.FilterExpression)
            .Select(x => x.CorrelationId).ToListAsync(cancellationToken);
        return new DefaultSagaRepositoryQueryContext<TSaga>(this, ids);
    }
}
