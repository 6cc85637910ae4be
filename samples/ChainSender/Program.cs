using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskHub.Contracts.Client;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

// A service of its own that hands TaskHub a chain and a chord and waits for their results, run by samples/AddWorker
// (its queue, Samples:Queue). The chain: Add(1, 2) = 3, Add(3, 10) = 13, Add(13, 100) = 113, each step once the one before
// succeeded. The chord: Add(n, n) for n = 1..10 in parallel, then Sum of their results in order = 110.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddAsyncTaskOptions(builder.Configuration);
builder.Services.AddTaskHubBus(x => x.AddTaskClient());
using var host = builder.Build();
await host.StartAsync();

var client = host.Services.GetRequiredService<ITaskClient>();
var queue = builder.Configuration["Samples:Queue"] ?? "samples.add";
var options = new SendTaskOptions(Queue: queue);
var sent = await client.SendChainAsync(
    [TaskSignature.Create("Add", 1, 2), TaskSignature.Create("Add", 10), TaskSignature.Create("Add", 100)], options);
var chain = await client.WaitForResultAsync(sent.TaskIds[^1], TimeSpan.FromSeconds(60));
Console.WriteLine($"chain {chain.Status}: {chain.Response ?? chain.Error}");

var chordSent = await client.SendChordAsync(Enumerable.Range(1, 10).Select(n => TaskSignature.Create("Add", n, n)), TaskSignature.Create("Sum"),
    sendConcurrency: 4, options);
var chord = await client.WaitForResultAsync(chordSent.CallbackId!.Value, TimeSpan.FromSeconds(60));
Console.WriteLine($"chord {chord.Status}: {chord.Response ?? chord.Error}");

await host.StopAsync();
return chain is { Status: TaskStatuses.Success, Response: "113" } && chord is { Status: TaskStatuses.Success, Response: "110" } ? 0 : 1;
