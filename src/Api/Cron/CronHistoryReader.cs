using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskHub.Api.Tasks;

namespace TaskHub.Api.Cron;

/// <summary>Reads the fire history the Scheduler keeps in <c>cron_task_fires</c>, newest first.</summary>
public static class CronHistoryReader
{
    const string Filter = """
        WHERE ($1::uuid IS NULL OR task_id = $1)
          AND ($2::timestamptz IS NULL OR fired_at >= $2)
          AND ($3::timestamptz IS NULL OR fired_at < $3)
          AND ($4::text IS NULL OR task_id IN (SELECT id FROM cron_tasks WHERE owner = $4))
        """;

    /// <summary><paramref name="beginAt"/>/<paramref name="endAt"/>: unix seconds, both inclusive, null = open.</summary>
    /// <param name="owner">Only fires of this owner's tasks; null: everyone's.</param>
    public static async Task<CronHistoryPage> ReadAsync(NpgsqlDataSource database, Guid? taskId, long? beginAt, long? endAt,
        int pageNum, int pageSize, string? owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM cron_task_fires {Filter}", connection);
        AddFilter(count, taskId, beginAt, endAt, owner);
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;

        await using var page = new NpgsqlCommand($"""
            SELECT token, task_id, fired_at, scheduled_at, status, http_status, error, reported_at, attempts::text
            FROM cron_task_fires {Filter}
            ORDER BY fired_at DESC, token
            LIMIT $5 OFFSET $6
            """, connection);
        AddFilter(page, taskId, beginAt, endAt, owner);
        page.Parameters.AddWithValue(pageSize);
        page.Parameters.AddWithValue((long)(pageNum - 1) * pageSize);
        var items = new List<CronFireView>();
        await using var reader = await page.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            items.Add(new CronFireView(
                reader.GetGuid(0).ToString(),
                reader.GetGuid(1).ToString(),
                reader.GetFieldValue<DateTimeOffset>(2).ToUnixTimeSeconds(),
                reader.GetFieldValue<DateTimeOffset>(3).ToUnixTimeSeconds(),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetInt32(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7).ToUnixTimeSeconds(),
                Attempts(reader.GetString(8))));
        return new CronHistoryPage(total, pageNum, pageSize, items);
    }

    static void AddFilter(NpgsqlCommand command, Guid? taskId, long? beginAt, long? endAt, string? owner)
    {
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = taskId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>
        {
            TypedValue = beginAt is { } begin ? DateTimeOffset.FromUnixTimeSeconds(begin) : null,
            NpgsqlDbType = NpgsqlDbType.TimestampTz,
        });
        // endAt names a whole second: everything fired before the next one.
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>
        {
            TypedValue = endAt is { } end ? DateTimeOffset.FromUnixTimeSeconds(end + 1) : null,
            NpgsqlDbType = NpgsqlDbType.TimestampTz,
        });
        command.Parameters.Add(TaskReader.TextParameter(owner));
    }

    static List<CronAttemptView> Attempts(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(a => new CronAttemptView(
            a.GetProperty("attempt").GetInt32(),
            a.GetProperty("at").GetDateTimeOffset().ToUnixTimeSeconds(),
            a.GetProperty("httpStatus").ValueKind == JsonValueKind.Number ? a.GetProperty("httpStatus").GetInt32() : null,
            a.GetProperty("error").ValueKind == JsonValueKind.String ? a.GetProperty("error").GetString() : null)).ToList();
    }
}
