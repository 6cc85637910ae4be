using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

// A service of its own that hands TaskHub a chain and waits for its result: Add(1, 2) = 3, Add(3, 10) = 13,
// Add(13, 100) = 113, each step run by samples/AddWorker (its queue, Samples:Queue) once the one before succeeded.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddAsyncTaskOptions(builder.Configuration);
builder.Services.AddTaskHubBus(x => x.AddTaskClient());
using var host = builder.Build();
await host.StartAsync();

var client = host.Services.GetRequiredService<ITaskClient>();
var queue = builder.Configuration["Samples:Queue"] ?? "samples.add";
var ids = await client.SendChainAsync(
    [TaskSignature.Create("Add", 1, 2), TaskSignature.Create("Add", 10), TaskSignature.Create("Add", 100)],
    new SendTaskOptions(Queue: queue));
var chain = await client.WaitForResultAsync(ids[^1], TimeSpan.FromSeconds(60));
Console.WriteLine($"chain {chain.Status}: {chain.Response ?? chain.Error}");

// chord: added with SendChordAsync

await host.StopAsync();
return chain is { Status: TaskStatuses.Success, Response: "113" } ? 0 : 1;
