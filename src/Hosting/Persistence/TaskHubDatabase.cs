using Npgsql;

namespace TaskHub.Hosting.Persistence;

/// <summary>
/// How every TaskHub process connects to the task database. TaskHub's statements leave no session
/// state behind (no SET, temporary tables or session advisory locks; only the pull queue's listener
/// LISTENs, and it UNLISTENs before its connection goes back), so a connection going back to the pool
/// is not reset (a DISCARD ALL, one more round trip per use), and the statements run over and over
/// are prepared once per connection (parsing them was a third of PostgreSQL's time on the hot paths).
/// A prepared statement is still planned at each execution (<c>plan_cache_mode</c>): a plan cached
/// while a table was empty (a fresh install, a queue drained before autovacuum looked) scans the
/// whole table once it has grown, until statistics change; planned afresh, it reads the table's
/// current size. Settings the connection string names itself win.
/// </summary>
public static class TaskHubDatabase
{
    const int PreparedStatementsPerConnection = 64;

    public static string Tuned(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Names(connectionString, "No Reset On Close", "NoResetOnClose"))
            builder.NoResetOnClose = true;
        if (!Names(connectionString, "Max Auto Prepare", "MaxAutoPrepare"))
            builder.MaxAutoPrepare = PreparedStatementsPerConnection;
        if (!Names(connectionString, "Options"))
            builder.Options = "-c plan_cache_mode=force_custom_plan";
        return builder.ConnectionString;
    }

    public static NpgsqlDataSource CreateDataSource(string connectionString) => NpgsqlDataSource.Create(Tuned(connectionString));

    static bool Names(string connectionString, params string[] keys) =>
        keys.Any(k => connectionString.Contains(k, StringComparison.OrdinalIgnoreCase));
}
