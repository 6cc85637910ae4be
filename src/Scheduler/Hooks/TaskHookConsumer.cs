using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Transport;
using TaskHub.Scheduler.Callbacks;

namespace TaskHub.Scheduler.Hooks;

/// <summary>
/// Delivers the lifecycle hooks of tasks of declared types: each is recorded once under its
/// (task, seq), then whoever holds the task's lock delivers its recorded hooks in seq order, so a
/// hook never overtakes an earlier one. A webhook is POSTed its payload, a .NET hook runs in a
/// Worker; a failing one is retried and logged, then given up, and the task's outcome never changes.
/// </summary>
public sealed class TaskHookConsumer(
    TaskHookStore store,
    CallbackSender sender,
    IClientFactory clients,
    IOptionsMonitor<CallbackDeliveryOptions> delivery,
    IOptionsMonitor<OutboundOptions> outbound,
    TimeProvider time,
    ILogger<TaskHookConsumer> logger) : IConsumer<TaskHookRaised>
{
    /// <summary>
    /// How long a hook waits for its predecessor to be recorded. Only a late message makes it wait;
    /// one lost with a crashed Scheduler is passed over after this rather than holding back the task's later hooks.
    /// </summary>
    public static readonly TimeSpan PredecessorWait = TimeSpan.FromSeconds(30);

    public async Task Consume(ConsumeContext<TaskHookRaised> context)
    {
        var raised = context.Message;
        var token = context.CancellationToken;
        if (!await store.RecordAsync(raised, token))
            return;
        bool waiting;
        await using (await store.LockAsync(raised.TaskId, token))
            waiting = await DeliverPendingAsync(raised, token);
        if (waiting)
            throw new HookPredecessorPendingException(raised);
    }

    /// <summary>Delivers the task's hooks in order up to the first whose predecessor has not arrived; true when this message's hook is among those left.</summary>
    async Task<bool> DeliverPendingAsync(TaskHookRaised raised, CancellationToken token)
    {
        foreach (var hook in await store.PendingAsync(raised.TaskId, token))
        {
            if (!hook.PredecessorRecorded && time.GetUtcNow() - hook.RecordedAt < PredecessorWait)
                return hook.Seq <= raised.Seq;
            await DeliverAsync(raised.TaskId, hook, token);
        }
        return false;
    }

    async Task DeliverAsync(Guid taskId, TaskHookStore.PendingHook hook, CancellationToken token)
    {
        var delivered = TaskHooks.IsWebhook(hook.Target)
            ? (await sender.SendAsync(HttpMethod.Post, hook.Target, hook.Payload, taskId.ToString(),
                attempt => RecordAttemptAsync(taskId, hook, attempt.Error, token), token)).Succeeded
            : await RunHandlerAsync(taskId, hook, token);
        await store.FinishAsync(taskId, hook.Seq, delivered, token);
        if (!delivered)
            logger.LogWarning("Gave up on the {Event} hook of task {TaskId} ({Target}); the task's outcome stands", hook.Event, taskId, hook.Target);
    }

    /// <summary>A .NET hook runs in a Worker, bounded like a webhook call and retried with the same backoff.</summary>
    async Task<bool> RunHandlerAsync(Guid taskId, TaskHookStore.PendingHook hook, CancellationToken token)
    {
        var retry = delivery.CurrentValue.Retry;
        var timeout = TimeSpan.FromSeconds(outbound.CurrentValue.TimeoutSeconds);
        // Room for the Worker's grace and the answer's transit.
        var client = clients.CreateRequestClient<RunTaskHook>(TaskHubBus.QueueAddress(TaskHooks.HandlerQueue),
            RequestTimeout.After(ms: (int)(timeout + TimeSpan.FromSeconds(10)).TotalMilliseconds));
        var run = new RunTaskHook(taskId, hook.Target, TaskHookArguments.From(hook.Event, hook.Payload), (int)timeout.TotalMilliseconds);
        for (var attempt = 1; ; attempt++)
        {
            string? error;
            try
            {
                error = (await client.GetResponse<TaskHookRan>(run, token)).Message.Error;
            }
            catch (RequestTimeoutException)
            {
                error = "no Worker answered in time";
            }
            await RecordAttemptAsync(taskId, hook, error, token);
            if (error is null)
                return true;
            if (!retry.RetriesAfter(attempt))
                return false;
            await Task.Delay(retry.DelayAfter(attempt, Random.Shared), time, token);
        }
    }

    async Task RecordAttemptAsync(Guid taskId, TaskHookStore.PendingHook hook, string? error, CancellationToken token)
    {
        await store.RecordAttemptAsync(taskId, hook.Seq, error, token);
        if (error is not null)
            logger.LogWarning("The {Event} hook of task {TaskId} ({Target}) failed: {Error}", hook.Event, taskId, hook.Target, error);
    }
}

/// <summary>The hook's predecessor has not arrived yet: the message comes back later (see <see cref="TaskHookConsumerDefinition"/>).</summary>
public sealed class HookPredecessorPendingException(TaskHookRaised hook)
    : Exception($"hook {hook.Seq} of task {hook.TaskId} waits for hook {hook.Seq - 1}");
