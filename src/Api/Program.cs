namespace TaskHub.Api;

public static class Program
{
    public static async Task Main(string[] args)
    {
        if (Auth.KeysCommand.TryRun(args, Console.Out))
            return;
        var builder = WebApplication.CreateBuilder(args);
        builder.AddTaskHubApi();
        var app = builder.Build();
        app.MapTaskHubApi();
        await app.RunAsync();
    }
}
