namespace TaskHub.Scheduler;

public static class Program
{
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.AddTaskHubScheduler();
        await builder.Build().RunAsync();
    }
}
