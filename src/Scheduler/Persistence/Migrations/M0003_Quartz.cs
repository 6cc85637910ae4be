using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Quartz;

namespace TaskHub.Scheduler.Persistence.Migrations;

/// <summary>
/// Quartz's tables for the clustered timers, from the script Quartz itself ships for its own
/// version (<c>create_postgres.sql</c> inside Quartz.dll; every statement is IF NOT EXISTS).
/// Quartz only validates the schema at start-up; creating it is ours, with the rest of the schema.
/// </summary>
[DbContext(typeof(TaskHubDbContext))]
[Migration("20261123000003_Quartz")]
public sealed partial class M0003_Quartz : Migration
{
    const string Script = "Quartz.Impl.AdoJobStore.Schema.create_postgres.sql";
    /// <summary>Quartz's default table prefix (lower case: what PostgreSQL folds unquoted names to).</summary>
    const string TablePrefix = "qrtz_";

    protected override void Up(MigrationBuilder m)
    {
        foreach (var statement in Statements())
            m.Sql(statement);
    }

    protected override void Down(MigrationBuilder m)
    {
        var tables = Statements().Select(s => CreateTable().Match(s)).Where(match => match.Success).Select(match => match.Groups[1].Value);
        foreach (var table in tables.Reverse())
            m.Sql($"DROP TABLE IF EXISTS {table} CASCADE;");
    }

    /// <summary>The script's statements: separated by lines reading exactly <c>--;;</c>, <c>{0}</c>/<c>{1}</c> the table prefix.</summary>
    internal static IEnumerable<string> Statements()
    {
        using var stream = typeof(IScheduler).Assembly.GetManifestResourceStream(Script)
            ?? throw new InvalidOperationException($"{Script} is not in {typeof(IScheduler).Assembly.FullName}.");
        using var reader = new StreamReader(stream);
        var script = reader.ReadToEnd().Replace("{0}", TablePrefix).Replace("{1}", TablePrefix);
        return Separator().Split(script)
            .Where(s => s.Split('\n').Any(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith("--", StringComparison.Ordinal)))
            .Select(s => s.Trim());
    }

    [GeneratedRegex(@"^--;;\s*$", RegexOptions.Multiline)]
    private static partial Regex Separator();

    [GeneratedRegex(@"CREATE TABLE IF NOT EXISTS (\w+)")]
    private static partial Regex CreateTable();
}
