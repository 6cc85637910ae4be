using System.Globalization;
using Npgsql;

namespace TaskHub.Bench;

/// <summary>One measured run of one path.</summary>
public sealed record PathResult(
    string Path,
    int Tasks,
    double Seconds,
    Latency Latency,
    CpuUse Cpu,
    double? SchedulerRssMb = null,
    double? WorkerRssMb = null,
    string? Note = null)
{
    public double TasksPerSecond => Seconds > 0 ? Tasks / Seconds : double.NaN;
    /// <summary>CPU milliseconds per task over every process involved (client, services, broker, database).</summary>
    public double CpuMsPerTask => Tasks > 0 ? Cpu.Total * 1000 / Tasks : 0;
}

/// <summary>Submit → SUCCESS in milliseconds, from the rows' created_at and finished_at.</summary>
public readonly record struct Latency(int Count, double P50, double P99, double Max)
{
    /// <summary>
    /// Latency of the rows created since <paramref name="from"/> in a table with the columns
    /// <c>created_at</c>, <c>finished_at</c> and a state column.
    /// </summary>
    public static async Task<Latency> QueryAsync(NpgsqlDataSource db, string table, string stateColumn, string succeeded, DateTimeOffset from)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
                   max(ms)
            FROM (SELECT extract(epoch FROM finished_at - created_at) * 1000 AS ms
                  FROM {table} WHERE {stateColumn} = $1 AND created_at >= $2) t
            """);
        cmd.Parameters.AddWithValue(succeeded);
        cmd.Parameters.AddWithValue(from);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return r.IsDBNull(1) ? new Latency(0, double.NaN, double.NaN, double.NaN)
            : new Latency((int)r.GetInt64(0), r.GetDouble(1), r.GetDouble(2), Convert.ToDouble(r.GetValue(3), CultureInfo.InvariantCulture));
    }
}

/// <summary>The final table and the README section.</summary>
public static class Report
{
    static string F(double? v, string format = "0") =>
        v is { } x && !double.IsNaN(x) ? x.ToString(format, CultureInfo.InvariantCulture) : "-";

    public const string Header =
        "| path | tasks | tasks/s | p50 ms | p99 ms | CPU s bench | CPU s sched | CPU s worker | CPU s rabbit | CPU s pg | CPU ms/task | peak RSS MB sched/worker |";
    public const string Rule =
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    public static string Row(PathResult r) =>
        $"| {r.Path} | {r.Tasks} | {F(r.TasksPerSecond)} | {F(r.Latency.P50)} | {F(r.Latency.P99)} | {F(r.Cpu.Bench, "0.0")} | " +
        $"{(r.SchedulerRssMb is null ? "-" : F(r.Cpu.Scheduler, "0.0"))} | {(r.WorkerRssMb is null ? "-" : F(r.Cpu.Worker, "0.0"))} | " +
        $"{F(r.Cpu.Broker, "0.0")} | {F(r.Cpu.Postgres, "0.0")} | {F(r.CpuMsPerTask, "0.00")} | " +
        $"{(r.SchedulerRssMb is null ? "-" : $"{F(r.SchedulerRssMb)}/{F(r.WorkerRssMb)}")} |";

    public static string NotBuilt(string path) => $"| {path} | not built | | | | | | | | | | |";

    public static string Spread(IReadOnlyList<double> values, string format = "0") =>
        values.Count <= 1 ? F(values.FirstOrDefault(), format)
            : $"{F(Median(values), format)} (min {F(values.Min(), format)}, max {F(values.Max(), format)}, n={values.Count})";

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>
    /// Replaces only the table rows of <paramref name="rows"/> (matched by their path cell up to the first comma or
    /// parenthesis-free prefix, i.e. the "(3a)"/"(3b)"/"(4)" tag) in the README block and adds <paramref name="note"/> before its end.
    /// </summary>
    public static void UpdateReadmeRows(string path, IReadOnlyList<string> rows, string note)
    {
        const string begin = "<!-- issue6:latest:begin (written by TaskHub.Bench --readme) -->";
        const string end = "<!-- issue6:latest:end -->";
        var text = File.ReadAllText(path);
        var b = text.IndexOf(begin, StringComparison.Ordinal);
        var e = text.IndexOf(end, StringComparison.Ordinal);
        if (b < 0 || e < b) throw new InvalidOperationException($"{path} has no issue-6 block to update");
        var lines = text[b..e].Split('\n').ToList();
        static string Tag(string row) => row.Split('|', StringSplitOptions.TrimEntries)[1].Split(' ')[0];
        foreach (var row in rows)
        {
            var at = lines.FindIndex(l => l.StartsWith("| (", StringComparison.Ordinal) && Tag(l) == Tag(row));
            if (at >= 0) lines[at] = row;
            else lines.Insert(lines.FindLastIndex(l => l.StartsWith("| ", StringComparison.Ordinal)) + 1, row);
        }
        var kept = string.Join('\n', lines).TrimEnd();
        // The previous note of the same rows goes: from its "Rows <tags> from run" line to the next note or the end.
        var prefix = note[..(note.IndexOf(" from run", StringComparison.Ordinal) + " from run".Length)];
        if (kept.IndexOf("\n\n" + prefix, StringComparison.Ordinal) is var old and >= 0)
        {
            var next = kept.IndexOf("\n\nRows ", old + 2, StringComparison.Ordinal);
            kept = next < 0 ? kept[..old] : kept[..old] + kept[next..];
        }
        var block = kept.TrimEnd() + "\n\n" + note.TrimEnd() + "\n";
        File.WriteAllText(path, text[..b] + block + text[e..]);
    }

    /// <summary>Replaces the text between the section's markers (or adds the section), leaving the rest of the file alone.</summary>
    public static void WriteReadme(string path, string body)
    {
        const string title = "## End-to-end (.NET path, issue 6)";
        const string begin = "<!-- issue6:latest:begin (written by TaskHub.Bench --readme) -->";
        const string end = "<!-- issue6:latest:end -->";
        var block = $"{begin}\n{body.TrimEnd()}\n{end}";
        var text = File.Exists(path) ? File.ReadAllText(path) : "# TaskHub benchmarks\n";
        var b = text.IndexOf(begin, StringComparison.Ordinal);
        var e = text.IndexOf(end, StringComparison.Ordinal);
        if (b >= 0 && e > b)
            text = text[..b] + block + text[(e + end.Length)..];
        else if (text.IndexOf(title, StringComparison.Ordinal) is var t and >= 0)
        {
            var lineEnd = text.IndexOf('\n', t);
            var at = lineEnd < 0 ? text.Length : lineEnd + 1;
            text = text[..at] + "\n" + block + "\n" + text[at..];
        }
        else
            text = text.TrimEnd() + $"\n\n{title}\n\n{block}\n";
        File.WriteAllText(path, text);
    }
}
