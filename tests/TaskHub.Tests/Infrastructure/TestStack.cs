using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
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
        await stack.CreateTemplateAsync();
        // The run's template goes with the run (the per-test databases go with their tests).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stack.DropDatabaseAsync(stack.TemplateDatabase).GetAwaiter().GetResult();
        return stack;
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
