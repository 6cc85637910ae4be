using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using TaskHub.Scheduler.Persistence;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace TaskHub.Tests.Infrastructure;

/// <summary>
/// The real RabbitMQ and PostgreSQL of one test run, found once: from the environment that
/// <c>./test.sh</c> sets, else from Testcontainers when a Docker engine answers, else a clear
/// failure. Never a silent skip. The schema is migrated once into a template database that
/// every test class clones.
/// </summary>
public sealed class TestStack
{
    public const string BrokerVariable = "AsyncTask__Broker";
    public const string DatabaseVariable = "AsyncTask__ResultBackend";
    public const string ManagementVariable = "TASKHUB_RABBITMQ_MANAGEMENT";

    static readonly Lazy<Task<TestStack>> Instance = new(StartAsync);

    public static Task<TestStack> GetAsync() => Instance.Value;

    TestStack(Uri broker, string database, Uri management)
    {
        Broker = broker;
        AdminDatabase = database;
        Management = management;
        ManagementClient = new HttpClient { BaseAddress = management };
        ManagementClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.ASCII.GetBytes(Uri.UnescapeDataString(broker.UserInfo))));
    }

    /// <summary>amqp://user:pass@host:port/ of the broker; tests add their own vhost.</summary>
    public Uri Broker { get; }
    /// <summary>A connection string with rights to create databases.</summary>
    public string AdminDatabase { get; }
    public Uri Management { get; }
    public HttpClient ManagementClient { get; }
    public string TemplateDatabase { get; } = $"taskhub_tpl_{Environment.ProcessId}";

    /// <summary>Names the run's sandboxes after its process, so a later run can tell those of a run that has ended.</summary>
    static string SandboxPrefix { get; } = $"t{Environment.ProcessId}_";

    static readonly Regex RunName = new(@"^(?:taskhub_tpl_(?<pid>\d+)|t(?<pid>\d+)_[0-9a-f]+)$");

    /// <summary>The templates, databases and vhosts of earlier runs whose test host is gone (ended before its clean-up finished).</summary>
    async Task DropLeftoversAsync()
    {
        var databases = new List<string>();
        await using (var admin = new NpgsqlConnection(AdminDatabase))
        {
            await admin.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT datname FROM pg_database", admin);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                databases.Add(reader.GetString(0));
        }
        foreach (var database in databases.Where(Ended))
            await DropDatabaseAsync(database);
        using var vhosts = JsonDocument.Parse(await ManagementClient.GetStringAsync("api/vhosts"));
        foreach (var vhost in vhosts.RootElement.EnumerateArray().Select(v => v.GetProperty("name").GetString()!).Where(Ended))
            await DeleteVirtualHostAsync(vhost);
    }

    static bool Ended(string name)
    {
        var match = RunName.Match(name);
        if (!match.Success || !int.TryParse(match.Groups["pid"].Value, out var pid))
            return false;
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    static async Task<TestStack> StartAsync()
    {
        var broker = Environment.GetEnvironmentVariable(BrokerVariable);
        var database = Environment.GetEnvironmentVariable(DatabaseVariable);
        var management = Environment.GetEnvironmentVariable(ManagementVariable);
        TestStack stack;
        if (!string.IsNullOrEmpty(broker) && !string.IsNullOrEmpty(database) && !string.IsNullOrEmpty(management))
            stack = new TestStack(new Uri(broker), database, new Uri(management));
        else if (DockerAnswers())
            stack = await StartContainersAsync();
        else
            throw new InvalidOperationException(
                $"No RabbitMQ/PostgreSQL for the integration tests: {BrokerVariable}, {DatabaseVariable} and {ManagementVariable} are not set " +
                "and no Docker engine answers. Run ./test.sh, which starts a local broker and database and sets them.");
        await stack.DropLeftoversAsync();
        await stack.CreateTemplateAsync();
        // The run's template goes with the run. The test host may be ended before this finishes (often is): the next
        // run's DropLeftoversAsync takes what is left.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stack.DropDatabaseAsync(stack.TemplateDatabase).GetAwaiter().GetResult();
        return stack;
    }

    /// <summary>
    /// A test's own vhost and database, made when it starts and dropped when it ends. Made one test ahead and dropped
    /// behind instead (tried: the suite 13m10s → 12m32s), a checkpoint-forcing CREATE or DROP DATABASE runs during the next
    /// test's start; the first CI run with that failed a test whose five requests must fit a 1.5 s window. Not worth 40 s.
    /// </summary>
    public async Task<Sandbox> CreateSandboxAsync()
    {
        var name = $"{SandboxPrefix}{Guid.NewGuid():N}"[..24];
        var broker = await CreateVirtualHostAsync(name);
        return new Sandbox(name, broker, await CloneDatabaseAsync(name));
    }

    public async Task DropSandboxAsync(Sandbox sandbox)
    {
        await DropDatabaseAsync(sandbox.Name);
        await DeleteVirtualHostAsync(sandbox.Name);
    }

    async Task CreateTemplateAsync()
    {
        await using (var admin = new NpgsqlConnection(AdminDatabase))
        {
            await admin.OpenAsync();
            await Execute(admin, $"DROP DATABASE IF EXISTS {TemplateDatabase} WITH (FORCE)");
            await Execute(admin, $"CREATE DATABASE {TemplateDatabase}");
        }
        var options = new DbContextOptionsBuilder<TaskHubDbContext>();
        TaskHubDbContext.Configure(options, WithDatabase(TemplateDatabase));
        await using (var db = new TaskHubDbContext(options.Options))
            await db.Database.MigrateAsync();
        NpgsqlConnection.ClearAllPools();
    }

    public string WithDatabase(string name) => new NpgsqlConnectionStringBuilder(AdminDatabase) { Database = name }.ConnectionString;

    public async Task<string> CloneDatabaseAsync(string name)
    {
        await using var admin = new NpgsqlConnection(AdminDatabase);
        await admin.OpenAsync();
        await Execute(admin, $"CREATE DATABASE {name} TEMPLATE {TemplateDatabase}");
        return WithDatabase(name);
    }

    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminDatabase);
        await admin.OpenAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Execute(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                return;
            }
            // An autovacuum worker on the database can only be ended with pg_signal_backend
            // (scripts/stack.sh grants it); elsewhere it finishes on its own shortly.
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    public async Task<Uri> CreateVirtualHostAsync(string vhost)
    {
        (await ManagementClient.PutAsync($"api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        var user = Uri.UnescapeDataString(Broker.UserInfo.Split(':')[0]);
        var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await ManagementClient.PutAsync($"api/permissions/{vhost}/{user}", permissions)).EnsureSuccessStatusCode();
        return new UriBuilder(Broker) { Path = "/" + vhost }.Uri;
    }

    public async Task DeleteVirtualHostAsync(string vhost) => await ManagementClient.DeleteAsync($"api/vhosts/{vhost}");

    static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    static bool DockerAnswers()
    {
        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", "info") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (docker is null)
                return false;
            return docker.WaitForExit(10_000) && docker.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    static async Task<TestStack> StartContainersAsync()
    {
        var rabbit = new RabbitMqBuilder("rabbitmq:3-management").WithUsername("guest").WithPassword("guest")
            .WithPortBinding(15672, true).Build();
        var postgres = new PostgreSqlBuilder("postgres:15").WithUsername("taskhub").WithPassword("taskhub").Build();
        await Task.WhenAll(rabbit.StartAsync(), postgres.StartAsync());
        var broker = new UriBuilder("amqp", rabbit.Hostname, rabbit.GetMappedPublicPort(5672)) { UserName = "guest", Password = "guest", Path = "/" }.Uri;
        var management = new Uri($"http://{rabbit.Hostname}:{rabbit.GetMappedPublicPort(15672)}/");
        return new TestStack(broker, postgres.GetConnectionString(), management);
    }
}

/// <summary>One test's vhost on the run's broker and database on its PostgreSQL, both named <see cref="Name"/>.</summary>
public sealed record Sandbox(string Name, Uri Broker, string Database);
