using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace TaskHub.Api.PullQueue;

public static class PullQueueRegistration
{
    /// <summary>The pull queue's services; needs the <c>NpgsqlDataSource</c> of the task database (for notifications).</summary>
    public static IServiceCollection AddPullQueue(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PullQueueOptions>().Bind(configuration.GetSection(PullQueueOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<PullQueueOptions>, PullQueueOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PullQueueDatabase>();
        services.AddSingleton<PullQueueStore>();
        services.AddSingleton<QueueSignals>();
        services.AddSingleton<LongPoll>();
        services.AddSingleton<QueueNotifications>();
        services.AddHostedService(sp => sp.GetRequiredService<QueueNotifications>());
        services.AddHostedService<PullQueueListener>();
        services.AddHostedService<PullQueueSweeper>();
        return services;
    }
}
