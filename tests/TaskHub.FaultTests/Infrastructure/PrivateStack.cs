using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text;
using Npgsql;

namespace TaskHub.FaultTests.Infrastructure;

/// <summary>
/// A RabbitMQ and a PostgreSQL of the fault tests' own (scripts/stack.sh with a data directory,
/// node name and ports beside the shared stack's, also beside .ci/run's 5673/15673/5433), so
/// killing them never disturbs another test run. Started once per test class, stopped at its end;
/// the faults are stack.sh's restart-rabbitmq, kill-rabbitmq and restart-postgres on the same settings.
/// </summary>
public sealed class PrivateStack : IAsyncLifetime
{
    public const int RabbitMqPort = 5675;
    public const int ManagementPort = 15675;
    public const int DistributionPort = 25675;
    public const int PostgresPort = 5435;
    public const string NodeName = "taskhub-faults@localhost";

    HttpClient _management = null!;

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>amqp://guest:guest@127.0.0.1:5675/ (tests add their own vhost).</summary>
    public Uri Broker { get; private set; } = null!;
    /// <summary>The role taskhub on database taskhub: may create databases.</summary>
    public string AdminDatabase { get; private set; } = "";

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Solution.sln")) && File.Exists(Path.Combine(dir.FullName, "scripts", "stack.sh")))
                return dir.FullName;
        throw new InvalidOperationException($"no Solution.sln with scripts/stack.sh above {AppContext.BaseDirectory}");
    }

    /// <summary>The settings of every stack.sh call; they win over what test.sh or .ci/run exported for the shared stack.</summary>
    static IReadOnlyDictionary<string, string> StackEnvironment() => new Dictionary<string, string>
    {
        ["TASKHUB_DATA_DIR"] = Path.Combine(RepoRoot, ".data", "faults"),
        ["TASKHUB_RABBITMQ_NODENAME"] = NodeName,
        ["TASKHUB_RABBITMQ_PORT"] = RabbitMqPort.ToString(),
        ["TASKHUB_RABBITMQ_MGMT_PORT"] = ManagementPort.ToString(),
        ["TASKHUB_RABBITMQ_DIST_PORT"] = DistributionPort.ToString(),
        ["TASKHUB_POSTGRES_PORT"] = PostgresPort.ToString(),
    };

    public async Task InitializeAsync()
    {
        var exports = ParseExports(await StackAsync("start"));
        Broker = new Uri(exports["AsyncTask__Broker"]);
        AdminDatabase = exports["AsyncTask__ResultBackend"];
        _management = new HttpClient { BaseAddress = new Uri(exports["TASKHUB_RABBITMQ_MANAGEMENT"].TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(10) };
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.ASCII.GetBytes(Uri.UnescapeDataString(Broker.UserInfo))));
    }

    public async Task DisposeAsync()
    {
        _management?.Dispose();
        await StackAsync("stop");
    }

    /// <summary>Starts what is not running (a test after a failed restart gets a working stack again).</summary>
    public Task EnsureUpAsync() => StackAsync("start");

    public Task KillRabbitMqAsync(int downSeconds) => StackAsync("kill-rabbitmq", downSeconds.ToString());
    public Task RestartRabbitMqAsync(int downSeconds) => StackAsync("restart-rabbitmq", downSeconds.ToString());
    public Task RestartPostgresAsync(int downSeconds, string mode = "fast") => StackAsync("restart-postgres", downSeconds.ToString(), mode);

    /// <summary>Runs scripts/stack.sh; returns its stdout, throws with its stderr when it fails.</summary>
    static async Task<string> StackAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(RepoRoot, "scripts", "stack.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in StackEnvironment()) start.Environment[key] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not run scripts/stack.sh");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"scripts/stack.sh {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stderr}");
        return await stdout;
    }

    /// <summary>The <c>export NAME='value'</c> lines of stack.sh start (values single-quoted, ' as '\'').</summary>
    static Dictionary<string, string> ParseExports(string stdout)
    {
        var exports = new Dictionary<string, string>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith("export ", StringComparison.Ordinal)) continue;
            var eq = line.IndexOf('=');
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'')
                value = value[1..^1].Replace("'\\''", "'");
            exports[line[7..eq]] = value;
        }
        foreach (var name in new[] { "AsyncTask__Broker", "AsyncTask__ResultBackend", "TASKHUB_RABBITMQ_MANAGEMENT" })
            if (!exports.ContainsKey(name))
                throw new InvalidOperationException($"scripts/stack.sh start printed no {name}:\n{stdout}");
        return exports;
    }

    public async Task<Uri> CreateVirtualHostAsync(string vhost)
    {
        (await _management.PutAsync($"api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        var user = Uri.UnescapeDataString(Broker.UserInfo.Split(':')[0]);
        (await _management.PutAsync($"api/permissions/{vhost}/{user}", permissions)).EnsureSuccessStatusCode();
        return new UriBuilder(Broker) { Path = "/" + vhost }.Uri;
    }

    public async Task DeleteVirtualHostAsync(string vhost)
    {
        try { await _management.DeleteAsync($"api/vhosts/{vhost}"); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
    }

    /// <summary>Consumers on a queue, or -1 while the queue does not exist or the broker does not answer.</summary>
    public async Task<int> ConsumersAsync(string vhost, string queue)
    {
        try
        {
            using var response = await _management.GetAsync($"api/queues/{vhost}/{Uri.EscapeDataString(queue)}");
            if (!response.IsSuccessStatusCode) return -1;
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.TryGetProperty("consumers", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    public string WithDatabase(string name) => new NpgsqlConnectionStringBuilder(AdminDatabase) { Database = name }.ConnectionString;

    /// <summary>An empty database: the Scheduler migrates it at start, as in production.</summary>
    public async Task CreateDatabaseAsync(string name)
    {
        await DropDatabaseAsync(name);
        await using var admin = new NpgsqlConnection(AdminDatabase);
        await admin.OpenAsync();
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
}
