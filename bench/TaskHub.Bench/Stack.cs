using System.Net.Http.Headers;
using System.Text.Json;
using System.Text;
using Npgsql;

namespace TaskHub.Bench;

/// <summary>
/// The local RabbitMQ and PostgreSQL (scripts/stack.sh): vhosts through the management API,
/// databases through an admin connection. Everything the benchmark creates is its own
/// (vhosts and databases named bench_/taskhub_bench...), so TaskHub's own schema is never touched.
/// </summary>
public sealed class Stack : IDisposable
{
    readonly HttpClient _management;

    Stack(Uri broker, string adminDatabase, Uri management)
    {
        Broker = broker;
        AdminDatabase = adminDatabase;
        _management = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
        var user = broker.UserInfo.Length > 0 ? Uri.UnescapeDataString(broker.UserInfo) : "guest:guest";
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes(user)));
    }

    /// <summary>amqp://user:pass@host:port/ (the default vhost; runs use their own).</summary>
    public Uri Broker { get; }
    /// <summary>A connection string of a role that may create databases.</summary>
    public string AdminDatabase { get; }

    public static Stack FromEnvironment()
    {
        string Need(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v
            ? v
            : throw new InvalidOperationException($"{name} is not set: run `eval \"$(scripts/stack.sh start)\"` first (bench/run.sh does).");
        return new Stack(new Uri(Need("AsyncTask__Broker")), Need("AsyncTask__ResultBackend"),
            new Uri(Need("TASKHUB_RABBITMQ_MANAGEMENT").TrimEnd('/') + "/"));
    }

    public async Task<Uri> CreateVirtualHostAsync(string vhost)
    {
        (await _management.PutAsync($"api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        var user = Uri.UnescapeDataString(Broker.UserInfo.Split(':')[0] is { Length: > 0 } u ? u : "guest");
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await _management.PutAsync($"api/permissions/{vhost}/{user}", permissions)).EnsureSuccessStatusCode();
        return new UriBuilder(Broker) { Path = "/" + vhost }.Uri;
    }

    public async Task DeleteVirtualHostAsync(string vhost)
    {
        try { await _management.DeleteAsync($"api/vhosts/{vhost}"); } catch (HttpRequestException) { }
    }

    /// <summary>Consumers on a queue, or -1 while the queue does not exist.</summary>
    public async Task<int> ConsumersAsync(string vhost, string queue)
    {
        using var response = await _management.GetAsync($"api/queues/{vhost}/{Uri.EscapeDataString(queue)}");
        if (!response.IsSuccessStatusCode) return -1;
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.TryGetProperty("consumers", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 0;
    }

    /// <summary>Messages published into and delivered out of a vhost so far (the broker's counters, refreshed every ~5 s).</summary>
    public async Task<(long Published, long Delivered)> MessageCountsAsync(string vhost)
    {
        using var doc = JsonDocument.Parse(await _management.GetStringAsync($"api/vhosts/{vhost}"));
        if (!doc.RootElement.TryGetProperty("message_stats", out var stats)) return (0, 0);
        long Get(string name) => stats.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        return (Get("publish"), Get("deliver_get"));
    }

    public string WithDatabase(string name, int? maxPoolSize = null)
    {
        var b = new NpgsqlConnectionStringBuilder(AdminDatabase) { Database = name };
        if (maxPoolSize is { } max) b.MaxPoolSize = max;
        return b.ConnectionString;
    }

    public async Task CreateDatabaseAsync(string name, bool ifMissing = false)
    {
        await using var admin = new NpgsqlConnection(AdminDatabase);
        await admin.OpenAsync();
        if (ifMissing)
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", admin) { Parameters = { new() { Value = name } } };
            if (await exists.ExecuteScalarAsync() is not null) return;
        }
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
        await create.ExecuteNonQueryAsync();
    }

    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminDatabase);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Transactions committed and rows written in a database so far (pg_stat_database).</summary>
    public async Task<DbCounters> DbCountersAsync(string database)
    {
        await using var admin = new NpgsqlConnection(AdminDatabase);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched FROM pg_stat_database WHERE datname = $1", admin)
        { Parameters = { new() { Value = database } } };
        await using var r = await cmd.ExecuteReaderAsync();
        return await r.ReadAsync() ? new DbCounters(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4)) : default;
    }

    public void Dispose() => _management.Dispose();
}

public readonly record struct DbCounters(long Commits, long Rollbacks, long Inserted, long Updated, long Fetched)
{
    public static DbCounters operator -(DbCounters a, DbCounters b) =>
        new(a.Commits - b.Commits, a.Rollbacks - b.Rollbacks, a.Inserted - b.Inserted, a.Updated - b.Updated, a.Fetched - b.Fetched);
}
