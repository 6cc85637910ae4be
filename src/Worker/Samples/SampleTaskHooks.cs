using System.Text.Json;
using TaskHub.Worker.Handlers;

namespace TaskHub.Worker.Samples;

/// <summary>Seed 001's hook scripts (<c>OnAdd</c>, <c>OnSuccess</c>, <c>OnError</c>, <c>OnProgress</c>): they log, as the seed's do. <c>tasks/test.json</c> uses them.</summary>
public static class SampleTaskHooks
{
    public static void Register(TaskHandlerRegistry handlers) => handlers
        .Register("OnAdd", (string id, ITaskContext ctx) => Log(ctx).LogInformation("OnAdd: #{Id}", id))
        .Register("OnSuccess", (string id, JsonElement response, ITaskContext ctx) =>
            Log(ctx).LogInformation("OnSuccess: #{Id} {Response}", id, response.GetRawText()))
        .Register("OnError", (string id, string error, ITaskContext ctx) => Log(ctx).LogWarning("OnError: #{Id} {Error}", id, error))
        .Register("OnProgress", (string id, int current, int total, string? message, ITaskContext ctx) =>
            Log(ctx).LogInformation("OnProgress: #{Id} {Message} {Current}/{Total}", id, message, current, total));

    static ILogger Log(ITaskContext ctx) => ctx.Services.GetRequiredService<ILogger<TaskHandlerRegistry>>();
}
