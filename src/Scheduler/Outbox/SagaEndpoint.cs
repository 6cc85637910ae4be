using MassTransit;
using TaskHub.Hosting;

namespace TaskHub.Scheduler.Outbox;

/// <summary>
/// How a saga's endpoint runs, for every saga of the Scheduler: the database or broker being away is waited out (outer retry),
/// a lost race for a row is replayed at once (inner retry), one instance's messages are handled one after the other (different
/// instances still in parallel; <see cref="Route{T}"/> names the instance), and what a transition sends is written with the
/// row and relayed once that committed (the outbox).
/// </summary>
public sealed class SagaEndpoint<TSaga> where TSaga : class, ISaga
{
    readonly ISagaConfigurator<TSaga> saga;
    readonly IPartitioner partition;
    readonly OutboxRelay relay;

    public SagaEndpoint(IReceiveEndpointConfigurator endpoint, ISagaConfigurator<TSaga> saga, IRegistrationContext context, int concurrency)
    {
        endpoint.UseMessageRetry(TransientFaults.WaitOut);
        endpoint.UseMessageRetry(r =>
        {
            r.Handle<ConcurrencyException>();
            r.Intervals(5, 10, 20, 50, 100, 100, 200, 200, 500, 500, 1000, 1000);
        });
        endpoint.ConcurrentMessageLimit = concurrency;
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = concurrency * 4;
        this.saga = saga;
        partition = endpoint.CreatePartitioner(concurrency);
        relay = context.GetRequiredService<OutboxRelay>();
    }

    /// <summary>Messages of <typeparamref name="T"/> go to the instance <paramref name="instance"/> names, in order, behind the outbox.</summary>
    public SagaEndpoint<TSaga> Route<T>(Func<ConsumeContext<T>, Guid> instance) where T : class
    {
        saga.Message<T>(m =>
        {
            m.UsePartitioner(partition, instance);
            m.UseFilter(new OutboxFilter<T>(relay));
        });
        return this;
    }
}
