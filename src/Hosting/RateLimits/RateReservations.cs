using Npgsql;
using NpgsqlTypes;

namespace TaskHub.Hosting.RateLimits;

/// <summary>
/// The cluster's rate budgets (issue 20): one row per limited key in <c>rate_limits</c> holding the earliest time its next
/// start may be. A reservation advances every key it names in one statement, so starts are spaced one interval apart
/// whichever process asks, in the order they asked (GCRA without burst).
/// </summary>
public sealed class RateReservations(NpgsqlDataSource database)
{
    /// <summary>Per key, the start reserved for the caller (at <paramref name="now"/> or later), in the order of <paramref name="limits"/>.</summary>
    public async Task<DateTimeOffset[]> ReserveAsync(IReadOnlyList<(string Key, TimeSpan Interval)> limits, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO rate_limits AS r (key, next_at)
            SELECT u.key, $1 + u.spacing FROM unnest($2::text[], $3::interval[]) AS u(key, spacing)
            ON CONFLICT (key) DO UPDATE SET next_at = greatest(r.next_at, $1) + (EXCLUDED.next_at - $1)
            RETURNING r.key, r.next_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = limits.Select(l => l.Key).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = limits.Select(l => l.Interval).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Interval });
        var starts = new DateTimeOffset[limits.Count];
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            var i = 0;
            while (limits[i].Key != key)
                i++;
            // The row now holds the start after this one.
            starts[i] = reader.GetFieldValue<DateTimeOffset>(1) - limits[i].Interval;
        }
        return starts;
    }

    /// <summary>The key of a callee or callback host's budget.</summary>
    public static string HostKey(Uri url) => $"host:{url.IdnHost.ToLowerInvariant()}";
}
