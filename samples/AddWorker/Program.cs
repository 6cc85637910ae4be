using Microsoft.Extensions.Hosting;
using TaskHub.Worker;

// A service of its own that runs TaskHub tasks named "Add" and "Sum" from its queue (Samples:Queue), with the worker package's
// attempts, timeouts, progress and cancels. Health checks (broker, database, stuck sends) are registered for the host to serve.
var builder = Host.CreateApplicationBuilder(args);
var queue = builder.Configuration["Samples:Queue"] ?? "samples.add";
builder.AddTaskHubWorker(w => w
    .Register("Add", (long a, long b) => a + b)
    .Register("Sum", (long[] values) => values.Sum())
    .StartWorker(queue, 4));
await builder.Build().RunAsync();
