using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Contracts.Messages;

/// <summary>
/// The task saga committed a change that a hook of the task's type listens to (seed 001's
/// <c>event</c>). <paramref name="Seq"/> numbers a task's hooks from 1, in the order they were raised;
/// <paramref name="Payload"/> is the JSON a webhook is POSTed: <c>{event, id, ...}</c>.
/// </summary>
public sealed record TaskHookRaised(Guid TaskId, int Seq, string Definition, string Event, string Target, string Payload) : ITaskMessage;

/// <summary>Request: run the .NET hook handler <paramref name="Handler"/> in a Worker; answered with <see cref="TaskHookRan"/>.</summary>
public sealed record RunTaskHook(Guid TaskId, string Handler, IReadOnlyList<TaskArg> Args, int TimeoutMs) : ITaskMessage;

/// <summary><paramref name="Response"/> is what the handler returned, as JSON; <paramref name="Error"/> is set when it failed.</summary>
public sealed record TaskHookRan(Guid TaskId, string? Response, string? Error) : ITaskMessage;
