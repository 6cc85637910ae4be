using System.Globalization;
using TaskHub.Bench.PullQueue;

// Measures a running Api's pull queue; it starts nothing itself.
// Usage: dotnet run -c Release --project bench/TaskHub.Bench.PullQueue -- [base-url] [seconds] [calls]
//   base-url  the Api (default http://127.0.0.1:8080)
//   seconds   measured seconds of the put+peek+acquire+reply run, after 3 s of warm-up (default 20)
//   calls     measured /task/call round trips, after 50 warm-up calls (default 1000)
const int Consumers = 8;
var baseUrl = new Uri(args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8080");
var seconds = int.Parse(args.ElementAtOrDefault(1) ?? "20", CultureInfo.InvariantCulture);
var calls = int.Parse(args.ElementAtOrDefault(2) ?? "1000", CultureInfo.InvariantCulture);

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
var api = new PullQueueHttp(http);
Console.WriteLine($"Pull queue bench against {baseUrl} on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

var load = await new CycleBench(api, Consumers, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(seconds)).RunAsync();
Console.WriteLine(FormattableString.Invariant(
    $"put+peek+acquire+reply, {Consumers} consumers, {seconds} s: {load.Cycles} cycles, {load.PerSecond:F0} cycles/s, {load.RequestsPerSecond:F0} HTTP requests/s"));
Console.WriteLine(FormattableString.Invariant(
    $"/task/call beside that load, one at a time: {load.CallsPerSecond:F0} round trips/s, p50 {CallBench.Percentile(load.CallLatencies, 50):F1} ms, p99 {CallBench.Percentile(load.CallLatencies, 99):F1} ms"));

var latencies = await new CallBench(api, warmUpCalls: 50, calls).RunAsync();
Console.WriteLine(FormattableString.Invariant(
    $"/task/call round trip alone, {calls} calls one at a time: p50 {CallBench.Percentile(latencies, 50):F1} ms, p99 {CallBench.Percentile(latencies, 99):F1} ms, max {latencies[^1]:F1} ms"));
