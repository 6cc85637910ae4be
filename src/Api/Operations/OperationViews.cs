using System.Text.Json;

namespace TaskHub.Api.Operations;

/// <summary>A task as the list shows it (<c>GET /tasks</c>); the full task is <c>GET /tasks/{id}</c>.</summary>
public sealed record TaskSummary(
    Guid Id, string Name, string Status, string Queue, string? Group, string? Callee, int Attempts, int Current, int Total,
    string? Message, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

/// <summary>A page of the list, newest first; <paramref name="Cursor"/> asks for the next (null: this was the last).</summary>
public sealed record TaskPage(IReadOnlyList<TaskSummary> Items, string? Cursor);

public sealed record NameCounts(string Name, IReadOnlyDictionary<string, long> ByStatus);

public sealed record MinuteCounts(DateTimeOffset Minute, long Submitted, long Succeeded, long Failed);

/// <summary>Counts by status and by task name, and per minute over the last hour (oldest first).</summary>
public sealed record TaskStats(IReadOnlyDictionary<string, long> ByStatus, IReadOnlyList<NameCounts> ByName, IReadOnlyList<MinuteCounts> PerMinute);

/// <summary>What a single retry or cancel was taken as: the task and the status it is on its way to.</summary>
public sealed record TaskCommandAccepted(Guid Id, string Status);

/// <summary>A bulk retry or cancel: how many tasks matched the filter (counted up to a bound), how many were sent the command, which.</summary>
public sealed record BulkOutcome(long Matched, int Affected, bool DryRun, IReadOnlyList<Guid> Ids);

public sealed record GroupSummary(string Name, int Parallels, long Running, long Waiting, DateTimeOffset? OldestWaitingAt);

public sealed record GroupMember(Guid TaskId, string? Name, string State, DateTimeOffset SubmittedAt, DateTimeOffset? DispatchedAt);

public sealed record GroupDetail(string Name, int Parallels, IReadOnlyList<GroupMember> Members);

public sealed record ScheduleSummary(
    Guid Id, string Name, string Kind, string? CronExpression, string State, DateTimeOffset? NextFireAt, int FireCount,
    DateTimeOffset? LastFiredAt, string? LastStatus, string CallbackUrl);

public sealed record CallbackSummary(
    Guid Id, string Mode, string Callback, string? Callee, int Fired, int? MaxCount, DateTimeOffset? NextDueAt, long? IntervalMs,
    DateTimeOffset CreatedAt, string State);

public sealed record PullQueueSummary(string Queue, long Waiting, long Leased, long Replied, double? OldestWaitingSeconds);

/// <summary><paramref name="State"/>: <c>online</c>, <c>silent</c> (no heartbeat for <c>Operations:WorkerSilentAfter</c>) or <c>stopped</c>.</summary>
public sealed record WorkerView(
    string Id, string Host, int ProcessId, IReadOnlyList<string> Queues, int Concurrency, int InFlight, string Version,
    DateTimeOffset StartedAt, DateTimeOffset LastSeenAt, string State, bool Silent);

public sealed record BrokerQueue(string Name, long Messages, long Ready, long Unacknowledged, long Consumers);

/// <summary>The broker's queues, or why they cannot be shown (<paramref name="Available"/> false).</summary>
public sealed record BrokerQueues(bool Available, string? Reason, IReadOnlyList<BrokerQueue> Queues);

/// <summary>Who the dashboard is signed in as and what it may do.</summary>
public sealed record CallerView(string Name, IReadOnlyList<string> Scopes, bool Anonymous);

static class Json
{
    public static JsonElement? Parse(string? text) => text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
}
