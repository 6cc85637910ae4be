using Npgsql;

namespace TaskHub.Hosting.Persistence;

/// <summary>
/// How every TaskHub process connects to the task database. TaskHub's statements leave no session
/// state behind (no SET, temporary tables or session advisory locks; only the pull queue's listener
/// LISTENs, and it UNLISTENs before its connection goes back), so a connection going back to the pool
/// is not reset (a DISCARD ALL, one more round trip per use), and the statements run over and over
/// are prepared once per connection (parsing them was a third of PostgreSQL's time on the hot paths).
/// Settings the connection string names itself win.
/// </summary>
public static class TaskHubDatabase
{
    const int PreparedStatementsPerConnection = 64;

    /// <param name="settings">Server settings for every session (<c>name=value</c>); the connection string's own <c>Options</c> win.</param>
    public static string Tuned(string connectionString, params string[] settings)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Names(connectionString, "No Reset On Close", "NoResetOnClose"))
            builder.NoResetOnClose = true;
        if (!Names(connectionString, "Max Auto Prepare", "MaxAutoPrepare"))
            builder.MaxAutoPrepare = PreparedStatementsPerConnection;
        if (settings.Length > 0)
            builder.Options = string.Join(' ', settings.Select(s => $"-c {s}").Append(builder.Options).OfType<string>());
        return builder.ConnectionString;
    }

    public static NpgsqlDataSource CreateDataSource(string connectionString, params string[] settings) =>
        NpgsqlDataSource.Create(Tuned(connectionString, settings));

    static bool Names(string connectionString, params string[] keys) =>
        keys.Any(k => connectionString.Contains(k, StringComparison.OrdinalIgnoreCase));
}
