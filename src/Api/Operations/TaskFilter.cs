using System.Globalization;
using System.Text;
using Npgsql;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Operations;

/// <summary>
/// Which tasks a list or a bulk action is about, from the query: <c>status</c>, <c>name</c>, <c>queue</c>,
/// <c>group</c>, <c>from</c>/<c>to</c> (ISO 8601 instants, on the submission time), <c>q</c> (an id, or text in the
/// name or the error), and the caller's own tasks unless it is an admin. Only the conditions given become SQL,
/// so each query is planned on the index that fits it.
/// </summary>
public sealed record TaskFilter(
    IReadOnlyList<string> States, string? Name, string? Queue, string? Group, DateTimeOffset? From, DateTimeOffset? To, string? Text, string? Owner)
{
    public const int MaxPageSize = 500;

    /// <summary>The filter, with the query's errors in <paramref name="query"/>; <paramref name="allowed"/> narrows the statuses (a bulk retry takes only finished failures).</summary>
    public static TaskFilter Read(QueryFields query, string? owner, IReadOnlyList<string>? allowed = null)
    {
        var statuses = allowed ?? TaskStatuses.All;
        var status = query.OneOf("status", statuses);
        return new TaskFilter(
            (status is null ? allowed ?? [] : [status]).SelectMany(TaskStatuses.ToSagaStates).ToArray(),
            query.Name("name", 512), query.Name("queue"), query.Name("group"),
            query.Instant("from"), query.Instant("to"), query.Name("q", 200), owner);
    }

    /// <summary>The WHERE clause (always at least the expiry: an expired result reads as absent), its parameters appended to <paramref name="parameters"/>.</summary>
    public string Where(List<NpgsqlParameter> parameters, DateTimeOffset now)
    {
        var sql = new StringBuilder("(expires_at IS NULL OR expires_at > ").Append(Add(parameters, now)).Append(')');
        if (States.Count == 1)
            sql.Append(" AND current_state = ").Append(Add(parameters, States[0]));
        else if (States.Count > 1)
            sql.Append(" AND current_state = ANY(").Append(Add(parameters, States.ToArray())).Append(')');
        if (Name is not null) sql.Append(" AND name = ").Append(Add(parameters, Name));
        if (Queue is not null) sql.Append(" AND queue = ").Append(Add(parameters, Queue));
        if (Group is not null) sql.Append(" AND group_name = ").Append(Add(parameters, Group));
        if (From is not null) sql.Append(" AND created_at >= ").Append(Add(parameters, From.Value));
        if (To is not null) sql.Append(" AND created_at < ").Append(Add(parameters, To.Value));
        if (Owner is not null) sql.Append(" AND owner = ").Append(Add(parameters, Owner));
        if (Text is not null)
        {
            if (Guid.TryParse(Text, out var id))
                sql.Append(" AND id = ").Append(Add(parameters, id));
            else
            {
                var pattern = Add(parameters, "%" + Text.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%");
                sql.Append($" AND (name ILIKE {pattern} OR error ILIKE {pattern})");
            }
        }
        return sql.ToString();
    }

    static string Add<T>(List<NpgsqlParameter> parameters, T value)
    {
        parameters.Add(new NpgsqlParameter<T> { TypedValue = value });
        return "$" + parameters.Count;
    }
}

/// <summary>
/// Where a page of the list ends: the last task's submission time and id, opaque to callers. Keyset
/// paging, so a page stays the same while new tasks arrive (they are newer than any page already read).
/// </summary>
public readonly record struct TaskCursor(DateTimeOffset CreatedAt, Guid Id)
{
    public override string ToString() =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes($"{CreatedAt.UtcTicks}_{Id:N}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static TaskCursor? Read(QueryFields query)
    {
        if (query.Text("cursor") is not { } text)
            return null;
        try
        {
            var padded = text.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            var parts = Encoding.ASCII.GetString(Convert.FromBase64String(padded)).Split('_');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks is >= 0 and <= 3155378975999999999 && Guid.TryParseExact(parts[1], "N", out var id))
                return new TaskCursor(new DateTimeOffset(ticks, TimeSpan.Zero), id);
        }
        catch (FormatException)
        {
        }
        query.Errors.Add("cursor", "must be the cursor of an earlier page, as it was given.");
        return null;
    }
}
