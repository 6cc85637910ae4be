using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using TaskHub.Api;
using TaskHub.Scheduler.Persistence;

// Issue 16's list benchmark: GET /tasks (and /tasks/stats) on a table of N task rows, through the real Api
// on Kestrel, against the run's PostgreSQL (scripts/stack.sh). The table is filled once with COPY in a
// database of its own, analysed, then each query is timed 50 times after 5 warm-ups.
// Usage: dotnet bench/TaskHub.Bench.Operations/bin/Release/net10.0/TaskHub.Bench.Operations.dll [rows=1000000] [--keep]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var rows = args.FirstOrDefault(a => !a.StartsWith("--")) is { } n ? int.Parse(n) : 1_000_000;
var keep = args.Contains("--keep");
var admin = Environment.GetEnvironmentVariable("AsyncTask__ResultBackend")
    ?? throw new InvalidOperationException("AsyncTask__ResultBackend is not set: eval \"$(scripts/stack.sh start)\" first");
var broker = Environment.GetEnvironmentVariable("AsyncTask__Broker") ?? "amqp://guest:guest@127.0.0.1:5672/";
var database = new NpgsqlConnectionStringBuilder(admin) { Database = "taskhub_bench_operations" }.ConnectionString;

Console.WriteLine($"TaskHub.Bench.Operations {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz}: {rows:N0} task rows, " +
                  $"{Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[..3].Aggregate((a, b) => $"{a} {b}")}");

if (!keep || !await ExistsAsync())
{
    await using (var connection = new NpgsqlConnection(admin))
    {
        await connection.OpenAsync();
        await new NpgsqlCommand("DROP DATABASE IF EXISTS taskhub_bench_operations WITH (FORCE)", connection).ExecuteNonQueryAsync();
        await new NpgsqlCommand("CREATE DATABASE taskhub_bench_operations", connection).ExecuteNonQueryAsync();
    }
    var options = new DbContextOptionsBuilder<TaskHubDbContext>();
    TaskHubDbContext.Configure(options, database);
    await using (var db = new TaskHubDbContext(options.Options))
        await db.Database.MigrateAsync();
    var fill = Stopwatch.StartNew();
    await FillAsync(rows);
    Console.WriteLine($"filled in {fill.Elapsed.TotalSeconds:0.0} s (COPY, then ANALYZE)");
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development", Args = [] });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["AsyncTask:Broker"] = broker,
    ["AsyncTask:ResultBackend"] = database,
    ["Telemetry:Enabled"] = "false",
    // As the development profile, whose appsettings live beside the Api, not here.
    ["Auth:AllowAnonymous"] = "true",
    ["Auth:ConfirmKey"] = "bench-confirm-key-0123456789abcdef0123456789",
    ["Auth:RateLimit:PerSecond"] = "0",
    ["Outbound:SigningKey"] = "bench-signing-key-0123456789abcdef0123",
    ["Bus:SigningKeys:bench"] = "bench-bus-key-0123456789abcdef0123456789",
    ["Bus:SignWith"] = "bench",
    ["Logging:LogLevel:Default"] = "Warning",
});
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.AddTaskHubApi();
var app = builder.Build();
app.MapTaskHubApi();
await app.StartAsync();
using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

// A cursor 20 pages deep, and a failure's error word, taken from the data itself.
var deep = await CursorAfterAsync("/tasks?limit=50", 20);
var since = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-6).ToString("O"));
var until = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-5).ToString("O"));
Console.WriteLine($"{"query",-58} {"p50 ms",8} {"p95 ms",8} {"max ms",8} {"rows",5}");
foreach (var query in new[]
{
    "/tasks?limit=50",
    $"/tasks?limit=50&cursor={deep}",
    "/tasks?status=FAILURE&limit=50",
    "/tasks?status=WAITING&limit=50",
    "/tasks?name=resize-image&limit=50",
    "/tasks?name=resize-image&status=FAILURE&limit=50",
    "/tasks?group=tenant-7&limit=50",
    "/tasks?queue=gpu&limit=50",
    $"/tasks?from={since}&to={until}&limit=50",
    "/tasks?q=host-17&limit=50",
    "/tasks?q=resize&limit=50",
    "/tasks?limit=500",
    "/tasks/stats",
})
    await TimeAsync(query);

await app.StopAsync();
if (!keep)
{
    await using var connection = new NpgsqlConnection(admin);
    await connection.OpenAsync();
    await new NpgsqlCommand("DROP DATABASE IF EXISTS taskhub_bench_operations WITH (FORCE)", connection).ExecuteNonQueryAsync();
}
return 0;

async Task TimeAsync(string query)
{
    var times = new List<double>();
    var count = 0;
    for (var i = 0; i < 55; i++)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(query);
        var body = await response.Content.ReadAsStringAsync();
        watch.Stop();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{query} answered {(int)response.StatusCode}: {body}");
        if (i >= 5)
            times.Add(watch.Elapsed.TotalMilliseconds);
        if (i == 0)
            count = System.Text.Json.JsonDocument.Parse(body).RootElement is { ValueKind: System.Text.Json.JsonValueKind.Object } root
                    && root.TryGetProperty("items", out var items) ? items.GetArrayLength() : 0;
    }
    times.Sort();
    var shown = query.Length > 58 ? query[..55] + "..." : query;
    Console.WriteLine($"{shown,-58} {times[times.Count / 2],8:0.0} {times[(int)(times.Count * 0.95)],8:0.0} {times[^1],8:0.0} {count,5}");
}

async Task<string> CursorAfterAsync(string query, int pages)
{
    string? cursor = null;
    for (var i = 0; i < pages; i++)
    {
        var page = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(query + (cursor is null ? "" : $"&cursor={cursor}"))).RootElement;
        cursor = page.GetProperty("cursor").GetString();
    }
    return cursor!;
}

async Task<bool> ExistsAsync()
{
    await using var connection = new NpgsqlConnection(admin);
    await connection.OpenAsync();
    return await new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = 'taskhub_bench_operations'", connection).ExecuteScalarAsync() is not null;
}

// A day of work: one task every 86 ms on average, 20 names, a tenth in 50 groups, a tenth on the gpu queue;
// 93 % succeeded, 3 % failed (with errors naming one of 50 hosts), 2 % waiting, 1 % running, 1 % cancelled.
async Task FillAsync(int count)
{
    string[] names = ["send-email", "resize-image", "charge-card", "sync-crm", "render-pdf", "index-doc", "http", "notify", "export-csv", "import-feed",
        "thumbnail", "transcode", "score-lead", "geocode", "backup", "reindex", "webhook", "ocr", "translate", "summarise"];
    var random = new Random(16);
    var now = DateTimeOffset.UtcNow;
    await using var connection = new NpgsqlConnection(database);
    await connection.OpenAsync();
    await using (var writer = await connection.BeginBinaryImportAsync(
        "COPY tasks (id, current_state, name, args, queue, attempts, created_at, started_at, finished_at, expires_at, error, group_name, response) FROM STDIN (FORMAT BINARY)"))
    {
        for (var i = 0; i < count; i++)
        {
            var created = now - TimeSpan.FromMilliseconds(86_400_000.0 * i / count);
            var roll = random.Next(100);
            var state = roll < 93 ? "Succeeded" : roll < 96 ? "Failed" : roll < 98 ? "Waiting" : roll < 99 ? "Running" : "Cancelled";
            var name = names[(int)Math.Min(names.Length - 1, Math.Floor(-Math.Log(1 - random.NextDouble()) * 4))];
            var finished = state is "Succeeded" or "Failed" or "Cancelled";
            await writer.StartRowAsync();
            await writer.WriteAsync(Guid.CreateVersion7(created), NpgsqlDbType.Uuid);
            await writer.WriteAsync(state, NpgsqlDbType.Varchar);
            await writer.WriteAsync(name, NpgsqlDbType.Text);
            await writer.WriteAsync($"[{{\"Type\":\"int32\",\"Value\":{i}}}]", NpgsqlDbType.Jsonb);
            await writer.WriteAsync(random.Next(10) == 0 ? "gpu" : "taskhub.task", NpgsqlDbType.Text);
            await writer.WriteAsync(state == "Failed" ? 3 : 1, NpgsqlDbType.Integer);
            await writer.WriteAsync(created, NpgsqlDbType.TimestampTz);
            if (state == "Waiting") await writer.WriteNullAsync(); else await writer.WriteAsync(created.AddMilliseconds(20), NpgsqlDbType.TimestampTz);
            if (finished) await writer.WriteAsync(created.AddMilliseconds(120), NpgsqlDbType.TimestampTz); else await writer.WriteNullAsync();
            if (finished) await writer.WriteAsync(created.AddDays(7), NpgsqlDbType.TimestampTz); else await writer.WriteNullAsync();
            if (state == "Failed") await writer.WriteAsync($"HttpRequestException: connection refused by host-{random.Next(50)}", NpgsqlDbType.Text);
            else if (state == "Cancelled") await writer.WriteAsync("cancelled by ops", NpgsqlDbType.Text);
            else await writer.WriteNullAsync();
            if (random.Next(10) == 0) await writer.WriteAsync($"tenant-{random.Next(50)}", NpgsqlDbType.Text); else await writer.WriteNullAsync();
            if (state == "Succeeded") await writer.WriteAsync("{\"ok\":true}", NpgsqlDbType.Jsonb); else await writer.WriteNullAsync();
        }
        await writer.CompleteAsync();
    }
    await new NpgsqlCommand("ANALYZE tasks", connection).ExecuteNonQueryAsync();
}
