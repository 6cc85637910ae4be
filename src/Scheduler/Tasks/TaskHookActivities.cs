using System.Text.Json.Nodes;
using MassTransit;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;

namespace TaskHub.Scheduler.Tasks;

/// <summary>
/// Raises the lifecycle hooks of tasks of a declared type (seed 001's <c>event</c>). A hook is
/// published from inside its transition, so the saga endpoint's outbox lets it out only once the
/// change is saved; a transition that is repeated (a redelivered event) finds the task moved on and
/// raises nothing. Each hook takes the task's next sequence number, so they are delivered in order.
/// </summary>
static class TaskHookActivities
{
    public static EventActivityBinder<TaskState, SubmitTask> RaiseAddHook(this EventActivityBinder<TaskState, SubmitTask> binder,
        TaskDefinitionCatalog? definitions) =>
        binder.RaiseHook(definitions, _ => TaskHooks.Add, _ => true, _ => []);

    /// <summary><c>success(id, response)</c> or <c>error(id, error)</c>, by the state the task finished in.</summary>
    public static EventActivityBinder<TaskState, T> RaiseFinishHook<T>(this EventActivityBinder<TaskState, T> binder,
        TaskDefinitionCatalog? definitions) where T : class =>
        binder.RaiseHook(definitions, c => Succeeded(c.Saga) ? TaskHooks.Success : TaskHooks.Error, _ => true,
            c => Succeeded(c.Saga)
                ? [("response", c.Saga.Response is null ? null : JsonNode.Parse(c.Saga.Response))]
                : [("error", c.Saga.Error)]);

    /// <summary>Goes before the report is recorded: only a report newer than the last one raises it, so a redelivered one does not.</summary>
    public static EventActivityBinder<TaskState, TaskProgressed> RaiseProgressHook(this EventActivityBinder<TaskState, TaskProgressed> binder,
        TaskDefinitionCatalog? definitions) =>
        binder.RaiseHook(definitions, _ => TaskHooks.Progress, c => c.Saga.ProgressAt is null || c.Message.At > c.Saga.ProgressAt,
            c => [("current", c.Message.Current), ("total", c.Message.Total), ("message", c.Message.Message)]);

    static EventActivityBinder<TaskState, T> RaiseHook<T>(this EventActivityBinder<TaskState, T> binder, TaskDefinitionCatalog? definitions,
        Func<BehaviorContext<TaskState, T>, string> eventOf, Func<BehaviorContext<TaskState, T>, bool> when,
        Func<BehaviorContext<TaskState, T>, (string Name, JsonNode? Value)[]> fields) where T : class =>
        binder.If(c => when(c) && definitions?.ForQueue(c.Saga.Queue)?.Events.For(eventOf(c)) is not null,
            b => b
                .Then(c => c.Saga.HookSeq++)
                .Publish(c =>
                {
                    var definition = definitions!.ForQueue(c.Saga.Queue)!;
                    var @event = eventOf(c);
                    var payload = new JsonObject { ["event"] = @event, ["id"] = c.Saga.CorrelationId.ToString() };
                    foreach (var (name, value) in fields(c))
                        payload[name] = value;
                    return new TaskHookRaised(c.Saga.CorrelationId, c.Saga.HookSeq, definition.Id, @event,
                        definition.Events.For(@event)!, payload.ToJsonString());
                }));

    static bool Succeeded(TaskState task) => task.CurrentState == "Succeeded";
}
