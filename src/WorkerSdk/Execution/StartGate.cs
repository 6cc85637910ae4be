using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Outbox;
using TaskHub.Hosting.RateLimits;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Worker.Execution;

/// <summary>
/// Rate limits on starts, cluster-wide (issue 20): a task name's (<c>AsyncTask:Tasks:&lt;name&gt;:RateLimit</c>), a defined
/// type's (<c>rate_limit</c> in <c>tasks/&lt;id&gt;.json</c>, for the tasks on its queue), its group's (<see cref="StartRate"/>,
/// from the Scheduler) and its callee host's (<c>Outbound:RateLimits:&lt;host&gt;</c>). Each limited key has one row in
/// <c>rate_limits</c> (<see cref="RateReservations"/>); a Worker reserves a start in every key that applies at once, which
/// spaces the cluster's starts one <see cref="RateLimit.Interval"/> apart, in the order they asked. A start due now runs; one
/// due within <c>Worker:HoldRetryUpTo</c> (1 s) waits in memory, which keeps the spacing exact while a Worker's slots keep the
/// reservations close; a later one is stored, as a long retry wait is (<see cref="AttemptRetries"/>): the message goes into
/// the outbox due at its reserved start, marked with it, and this one is acknowledged. Nothing is dropped, no slot is held
/// while it waits, and a Worker or Scheduler that dies loses nothing (the outbox is any relay's to send).
/// </summary>
public sealed class StartGate(RateReservations reservations, OutboxTable outbox, IOptions<AsyncTaskOptions> options, IOptions<OutboundOptions> outbound,
    IOptions<WorkerOptions> worker, TaskDefinitionCatalog definitions, TaskHubMetrics metrics, TimeProvider time, ILogger<StartGate> logger)
{
    /// <summary>A reserved start this close is run at once: the outbox's round trip would be later.</summary>
    static readonly TimeSpan RunWithin = TimeSpan.FromMilliseconds(20);

    /// <summary>One limit a start counts against: its row's key, its spacing, and how it reads in a task's reason.</summary>
    public sealed record Limit(string Kind, string Key, RateLimit Rate, string Reason);

    /// <summary>
    /// The limits that apply to a start of task <paramref name="name"/> taken from <paramref name="queue"/>, in <paramref name="rate"/>'s
    /// group, calling <paramref name="callee"/>.
    /// </summary>
    public IReadOnlyList<Limit> LimitsFor(string name, string queue, StartRate? rate, Uri? callee)
    {
        var limits = new List<Limit>(3);
        if (definitions.ForQueue(queue) is { RateLimit: { } definedRate } definition)
            limits.Add(new Limit("task", $"task:{definition.Id}", definedRate, $"task {definition.Id}: {definedRate}"));
        else if (options.Value.Tasks.TryGetValue(name, out var task) && RateLimit.TryParse(task.RateLimit, out var taskRate))
            limits.Add(new Limit("task", $"task:{name}", taskRate, $"task {name}: {taskRate}"));
        if (rate is { Group: { } group } && RateLimit.TryParse(rate.GroupRate, out var groupRate))
            limits.Add(new Limit("group", $"group:{group}", groupRate, $"group {group}: {groupRate}"));
        if (callee is not null && outbound.Value.RateLimitFor(callee) is { } hostRate)
            limits.Add(new Limit("host", RateReservations.HostKey(callee), hostRate, $"host {callee.IdnHost}: {hostRate}"));
        return limits;
    }

    /// <summary>
    /// True when <paramref name="work"/>'s start is held back: it is stored to come again at its reserved start (as
    /// <paramref name="reserved"/> makes it), <see cref="TaskThrottled"/> is published, and the consumer returns. False: start now.
    /// </summary>
    public async Task<bool> HoldAsync<T>(ConsumeContext<T> context, T work, string name, Uri? callee, Func<DateTimeOffset, T> reserved)
        where T : class, IWorkMessage
    {
        // Its start was reserved when it was held back: the relay sent it when that came.
        if (work.Rate?.ReservedFor is not null)
            return false;
        var queue = context.InputQueue();
        var limits = LimitsFor(name, queue, work.Rate, callee);
        if (limits.Count == 0)
            return false;
        var now = time.GetUtcNow();
        var (startAt, by) = await ReserveAsync(limits, now, context.CancellationToken);
        var wait = startAt - now;
        if (wait <= RunWithin)
            return false;
        metrics.Throttled(name, by.Kind);
        if (wait <= worker.Value.HoldRetryUpTo)
        {
            await Task.Delay(wait, time, context.CancellationToken);
            return false;
        }
        logger.LogDebug("Task {TaskId} attempt {Attempt} held back until {StartAt} by {Limit}", work.TaskId, work.Attempt, startAt, by.Reason);
        await context.Publish(new TaskThrottled(work.TaskId, Math.Max(1, work.Attempt), startAt, by.Reason));
        // One row per task and attempt: a redelivered message that is held back again stores nothing twice.
        var message = OutboxMessage.Send(TaskHubBus.QueueAddress(queue), reserved(startAt)) with { Id = HeldId(work.TaskId, work.Attempt) };
        await outbox.InsertDueAsync(message, startAt, context.CancellationToken);
        return true;
    }

    /// <summary>Reserves the next start in every key at once; the start is the latest of them, set by <c>By</c>.</summary>
    async Task<(DateTimeOffset StartAt, Limit By)> ReserveAsync(IReadOnlyList<Limit> limits, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var starts = await reservations.ReserveAsync([.. limits.Select(l => (l.Key, l.Rate.Interval))], now, cancellationToken);
        var latest = Array.IndexOf(starts, starts.Max());
        return (starts[latest], limits[latest]);
    }

    static readonly Guid HeldNamespace = new("6c1e8f40-2b9d-4a73-9e55-0d7a3b61c2f8");

    static Guid HeldId(Guid taskId, int attempt) => NameBasedIds.From(HeldNamespace, $"{taskId:N}/{Math.Max(1, attempt)}");
}
