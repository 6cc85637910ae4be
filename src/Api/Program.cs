namespace TaskHub.Api;

public static class Program
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddTaskHubApi();
        var app = builder.Build();
        app.MapTaskHubApi();
        await app.RunAsync();
    }
}
