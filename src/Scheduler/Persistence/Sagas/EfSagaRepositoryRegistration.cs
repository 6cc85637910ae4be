using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TaskHub.Scheduler.Persistence.Sagas;

public static class EfSagaRepositoryRegistration
{
    /// <summary>Persists this saga in <typeparamref name="TDbContext"/> (register its <c>IDbContextFactory</c> yourself).</summary>
    public static ISagaRegistrationConfigurator<TSaga> EfCoreRepository<TSaga, TDbContext>(this ISagaRegistrationConfigurator<TSaga> saga)
        where TSaga : class, ISaga
        where TDbContext : DbContext
    {
        saga.Repository(r =>
        {
            r.TryAddSingleton<SagaStore<TSaga, TDbContext>>();
            r.RegisterSagaRepository<TSaga, SagaStore<TSaga, TDbContext>, SagaConsumeContextFactory<SagaStore<TSaga, TDbContext>, TSaga>,
                EfSagaRepositoryContextFactory<TSaga, TDbContext>>();
            r.RegisterQuerySagaRepository<TSaga, EfSagaRepositoryContextFactory<TSaga, TDbContext>>();
            r.RegisterLoadSagaRepository<TSaga, EfSagaRepositoryContextFactory<TSaga, TDbContext>>();
        });
        return saga;
    }
}
