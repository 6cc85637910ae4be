using MassTransit;
using TaskHub.Scheduler.Timers;

namespace TaskHub.Scheduler.Cron;

public static class CronTaskRegistration
{
    /// <summary>Scheduled offline tasks (seed 003): options, their store and callback sender, and the timers they fire on.</summary>
    public static IServiceCollection AddCronTasks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTaskHubTimers(configuration);
        services.AddOptions<CronOptions>().Bind(configuration.GetSection(CronOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CronTaskStore>();
        services.AddSingleton<CronCallbackSender>();
        return services;
    }

    /// <summary>The consumers: the Api's requests on one endpoint, the timers' fires on their own.</summary>
    public static void AddCronTaskConsumers(this IBusRegistrationConfigurator bus)
    {
        const string requests = "taskhub.cron-tasks";
        bus.AddConsumer<ScheduleCronTaskConsumer>().Endpoint(e => e.Name = requests);
        bus.AddConsumer<DeleteCronTaskConsumer>().Endpoint(e => e.Name = requests);
        bus.AddConsumer<GetCronTaskConsumer>().Endpoint(e => e.Name = requests);
        bus.AddConsumer<ControlCronTaskConsumer>().Endpoint(e => e.Name = requests);
        bus.AddConsumer<ReportCronFireConsumer>().Endpoint(e => e.Name = requests);
        bus.AddConsumer<CronTaskFiredConsumer, CronTaskFiredConsumerDefinition>();
    }
}
