using TaskHub.Worker.Handlers;

namespace TaskHub.Worker.Samples;

/// <summary>Handlers a fresh system can run: the seed's <c>SomeAsyncTask</c> and a few for trying things out and benchmarking.</summary>
public static class SampleHandlers
{
    public static void Register(TaskHandlerRegistry handlers) => handlers
        .Register(nameof(SomeAsyncTask), SomeAsyncTask)
        .Register("Echo", (string text) => text)
        .Register("Sleep", async (int milliseconds, ITaskContext ctx) =>
        {
            for (var done = 0; done < milliseconds; done += 100)
            {
                await ctx.ReportProgressAsync(done, milliseconds, $"slept {done} ms");
                await Task.Delay(Math.Min(100, milliseconds - done), ctx.CancellationToken);
            }
            return new { slept = milliseconds };
        })
        .Register("Noop", () => { })
        // Answers what it was given: as a chord's callback, the members' results in order.
        .Register("Collect", (System.Text.Json.JsonElement values) => values);

    /// <summary>The seed's handler: <c>func SomeAsyncTask(ctx context.Context, relatedItemIDToProcess uint64) error</c>.</summary>
    public static async Task<object> SomeAsyncTask(ITaskContext ctx, ulong relatedItemIdToProcess)
    {
        var logger = ctx.Services.GetRequiredService<ILogger<TaskHandlerRegistry>>();
        logger.LogInformation("SomeAsyncTask processing related item {ItemId}", relatedItemIdToProcess);
        await ctx.ReportProgressAsync(1, 1, $"processed item {relatedItemIdToProcess}");
        return new { processed = relatedItemIdToProcess };
    }
}
