using MassTransit.Context;
using MassTransit.Saga;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Persistence.Sagas;

/// <summary>
/// The unit of work of one message against one saga table. MassTransit calls, for an existing
/// instance, Load → behaviour → Update (or Delete when finalized); for a new one, Add → Save.
/// The rows go through the shared <see cref="SagaStore{TSaga,TDbContext}"/>, which batches them
/// with the other messages' rows.
/// </summary>
sealed class EfSagaRepositoryContext<TSaga, TMessage, TDbContext> :
    ConsumeContextScope<TMessage>,
    SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
    where TDbContext : DbContext
{
    readonly SagaStore<TSaga, TDbContext> store;
    readonly ConsumeContext<TMessage> consumeContext;
    readonly ISagaConsumeContextFactory<SagaStore<TSaga, TDbContext>, TSaga> factory;
    // What each loaded instance held, so an event that changed nothing writes nothing.
    readonly Dictionary<Guid, object?[]> loaded = new();

    public EfSagaRepositoryContext(SagaStore<TSaga, TDbContext> store, ConsumeContext<TMessage> consumeContext,
        ISagaConsumeContextFactory<SagaStore<TSaga, TDbContext>, TSaga> factory, IEnumerable<TSaga>? instances = null)
        : base(consumeContext, store)
    {
        this.store = store;
        this.consumeContext = consumeContext;
        this.factory = factory;
        foreach (var instance in instances ?? [])
            Track(instance);
    }

    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance) =>
        factory.CreateSagaConsumeContext(store, consumeContext, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        // Someone inserted it first: null, so that the normal Load path takes over.
        if (!await store.InsertAsync(instance))
            return default!;
        Track(instance);
        return await factory.CreateSagaConsumeContext(store, consumeContext, instance, SagaConsumeContextMode.Insert);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var instance = await store.LoadAsync(correlationId);
        if (instance is null)
            return default!;
        Track(instance);
        return await factory.CreateSagaConsumeContext(store, consumeContext, instance, SagaConsumeContextMode.Load);
    }

    /// <summary>
    /// Retry filters match an exception's own type, so both ways of losing a race are
    /// <see cref="ConcurrencyException"/>: a stale row version, and two first events inserting one id.
    /// </summary>
    public async Task Save(SagaConsumeContext<TSaga> context)
    {
        var staged = Staged();
        if (!await store.InsertAsync(context.Saga, staged?.Messages))
            throw new ConcurrencyException($"{typeof(TSaga).Name} inserted concurrently", typeof(TSaga), context.Saga.CorrelationId);
        staged?.MarkWritten();
    }

    public async Task Update(SagaConsumeContext<TSaga> context)
    {
        // Nothing to write: staged messages, if any, are sent by the outbox filter as they are.
        if (loaded.TryGetValue(context.Saga.CorrelationId, out var before) && !store.Table.Changed(context.Saga, before))
            return;
        var staged = Staged();
        if (!await store.UpdateAsync(context.Saga, staged?.Messages))
            throw new ConcurrencyException($"{typeof(TSaga).Name} changed concurrently", typeof(TSaga), context.Saga.CorrelationId);
        staged?.MarkWritten();
    }

    public async Task Delete(SagaConsumeContext<TSaga> context)
    {
        var staged = Staged();
        if (!await store.DeleteAsync(context.Saga, staged?.Messages))
            throw new ConcurrencyException($"{typeof(TSaga).Name} changed concurrently", typeof(TSaga), context.Saga.CorrelationId);
        staged?.MarkWritten();
    }

    /// <summary>What the behaviour sent and published, when the endpoint has the outbox (<see cref="OutboxFilter{T}"/>).</summary>
    StagedMessages? Staged() => consumeContext.TryGetPayload<IStagingContext>(out var staging) ? staging.Staged : null;

    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    /// <summary>Nothing was written: the instance is a private copy, dropped with this context.</summary>
    public Task Undo(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> context, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        factory.CreateSagaConsumeContext(store, context, instance, mode);

    void Track(TSaga instance) => loaded[instance.CorrelationId] = store.Table.Snapshot(instance);
}
