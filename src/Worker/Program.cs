namespace TaskHub.Worker;

public static class Program
{
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.AddTaskHubWorkerHost();
        await builder.Build().RunAsync();
    }
}
