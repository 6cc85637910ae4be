using System.Text.Json;
using System.Text.Json.Serialization;

namespace TaskHub.Api.PullQueue;

// The answers of the /task/<op> routes: HTTP 200 with err_code and data, as seed 004 shows them.

public static class ErrCodes
{
    public const string Ok = "0000";
    public const string Timeout = "0001";
}

public sealed record PullReply<T>([property: JsonPropertyName("err_code")] string ErrCode, T Data);

public static class PullReply
{
    public static PullReply<T> Ok<T>(T data) => new(ErrCodes.Ok, data);
}

/// <summary>The answer of a peek: <c>cursor</c> is that of the last task returned, or the request's cursor when none came.</summary>
public sealed record PeekReply([property: JsonPropertyName("err_code")] string ErrCode, IReadOnlyList<PeekedTask> Data, string? Cursor);

/// <summary>The answer of a list_queue: <c>cursor</c> continues the list in another request; null when there are no more.</summary>
public sealed record QueueList([property: JsonPropertyName("err_code")] string ErrCode, IReadOnlyList<string> Data, string? Cursor);

public sealed record PeekedTask(string Id, JsonElement Info);

/// <summary><c>lease</c> numbers this acquisition; a reply may quote it to prove it is not late.</summary>
public sealed record AcquiredTask(string Id, JsonElement Info, byte[] Content, int Lease);

public sealed record CallResult(
    string Id,
    [property: JsonPropertyName("result_info")] JsonElement ResultInfo,
    [property: JsonPropertyName("result_content")] byte[] ResultContent);

/// <summary>
/// <c>length</c>: tasks not yet replied (waiting or acquired); <c>acquired</c>: those under a live lease;
/// <c>results</c>: replied tasks whose result is still cached; cursors span the unreplied tasks.
/// </summary>
public sealed record QueueStat(
    long Length,
    long Acquired,
    long Results,
    [property: JsonPropertyName("oldest_cursor")] string? OldestCursor,
    [property: JsonPropertyName("newest_cursor")] string? NewestCursor);

/// <summary>
/// One pull-queue task in the system's task vocabulary: WAITING (visible, not acquired or its lease ran
/// out), RUNNING (acquired under a live lease), SUCCESS (replied, result cached). <c>attempts</c> counts acquisitions.
/// </summary>
public sealed record QueueTaskStatus(
    string Queue,
    string Id,
    string Status,
    int Attempts,
    string Cursor,
    [property: JsonPropertyName("is_result")] bool IsResult,
    [property: JsonPropertyName("lease_until")] DateTimeOffset? LeaseUntil,
    [property: JsonPropertyName("result_info")] JsonElement? ResultInfo,
    [property: JsonPropertyName("result_content")] byte[]? ResultContent);
