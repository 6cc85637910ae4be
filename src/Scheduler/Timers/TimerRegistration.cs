using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartz;
using TaskHub.Contracts.Options;
using TaskHub.Hosting.Persistence;

namespace TaskHub.Scheduler.Timers;

public static class TimerRegistration
{
    /// <summary>
    /// The clustered Quartz scheduler on the shared PostgreSQL (tables from migration M0003) and
    /// <see cref="ITimerScheduler"/>. Safe to call from every feature that needs timers, anywhere in
    /// the registrations: Quartz fires only between the host's start and the beginning of its stop,
    /// so its jobs always publish on a running bus.
    /// </summary>
    public static IServiceCollection AddTaskHubTimers(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(ITimerScheduler)))
            return services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<TimerOptions>().Bind(configuration.GetSection(TimerOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        // Quartz takes its settings at registration; the same section is validated again at start-up above.
        var options = configuration.GetSection(TimerOptions.Section).Get<TimerOptions>() ?? new TimerOptions();

        services.AddSingleton<QuartzDataSource>();
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s => s.InstanceName = options.InstanceName);
            q.UseDefaultThreadPool(options.ThreadCount);
            q.UsePersistentStore(store =>
            {
                store.UsePostgres(d => d.DataSourceFactory = sp => sp.GetRequiredService<QuartzDataSource>().DataSource);
                store.UseClustering(c => c.CheckinInterval = TimeSpan.FromMilliseconds(options.ClusterCheckinIntervalMs));
                store.UseSystemTextJsonSerializer(_ => { });
                store.ConfigureStore(s =>
                {
                    s.MisfireThreshold = TimeSpan.FromMilliseconds(options.MisfireThresholdMs);
                    // Job data is two strings (message type and JSON): stored readable, no serializer involved.
                    s.StoreJobDataAsStrings = true;
                });
            });
            q.AddJobType<PublishMessageJob>();
        });
        services.AddQuartzHostedService<TimerHostedService>(o => o.WaitForJobsToComplete = true);
        services.AddSingleton<ITimerScheduler, QuartzTimers>();
        return services;
    }

    /// <summary>
    /// Stops firing as soon as the host begins to stop (lifecycle hooks run before any service
    /// stops), not when this service's turn comes, which may be after the bus has stopped.
    /// </summary>
    sealed class TimerHostedService(IHostApplicationLifetime lifetime, IServiceProvider services, IOptionsMonitor<QuartzHostedServiceOptions> options)
        : QuartzHostedService(lifetime, services, options)
    {
        public override async Task StoppingAsync(CancellationToken cancellationToken)
        {
            foreach (var scheduler in Schedulers)
                await scheduler.Standby(cancellationToken);
        }
    }

    /// <summary>Quartz's own connection pool to the shared database, disposed with the host.</summary>
    sealed class QuartzDataSource(IOptions<AsyncTaskOptions> options) : IAsyncDisposable
    {
        public NpgsqlDataSource DataSource { get; } = TaskHubDatabase.CreateDataSource(options.Value.ResultBackend);

        public ValueTask DisposeAsync() => DataSource.DisposeAsync();
    }
}
