using System.Text.Json;

namespace TaskHub.Contracts.Tasks;

/// <summary>One argument of a task, as gobay's <c>tasks.Arg{Type, Value}</c>: a type name and a JSON value.</summary>
public sealed record TaskArg(string Type, JsonElement Value)
{
    public static TaskArg From(object? value) => new(TypeNameOf(value), JsonSerializer.SerializeToElement(value));

    /// <summary>gobay's type names, so signatures read the same from Go and .NET.</summary>
    public static string TypeNameOf(object? value) => value switch
    {
        null => "null",
        bool => "bool",
        string => "string",
        sbyte => "int8",
        short => "int16",
        int => "int32",
        long => "int64",
        byte => "uint8",
        ushort => "uint16",
        uint => "uint32",
        ulong => "uint64",
        float => "float32",
        double => "float64",
        decimal => "decimal",
        Guid => "uuid",
        DateTime or DateTimeOffset => "time",
        _ => "json",
    };
}

/// <summary>
/// What to run: a registered handler name and its positional arguments
/// (gobay's <c>tasks.Signature{Name, Args}</c>), and what follows it (machinery's <c>OnSuccess</c>, <c>OnError</c>, <c>Immutable</c>).
/// </summary>
public sealed record TaskSignature(string Name, IReadOnlyList<TaskArg> Args)
{
    /// <summary>Sent once this task succeeds, each with the result first among its arguments unless it is <see cref="Immutable"/>.</summary>
    public IReadOnlyList<TaskSignature>? OnSuccess { get; init; }

    /// <summary>Sent once a run of this task fails (not when it is cancelled), each with the error text first among its arguments unless it is <see cref="Immutable"/>.</summary>
    public IReadOnlyList<TaskSignature>? OnError { get; init; }

    /// <summary>As a follower, run with its own arguments only: the result or error before it is not passed.</summary>
    public bool Immutable { get; init; }

    /// <summary>The id this task gets (a follower's, a chain step's); made up when not given. An id is taken once.</summary>
    public Guid? TaskId { get; init; }

    /// <summary>
    /// Starts no earlier than this (machinery's <c>ETA</c>): the task waits as a stored due time, not a message, so it survives
    /// restarts and starts once. A time already past starts at once.
    /// </summary>
    public DateTimeOffset? Eta { get; init; }

    /// <summary>Starts this long after it is sent (Celery's <c>countdown</c>): the client makes it the <see cref="Eta"/>.</summary>
    public TimeSpan? Countdown { get; init; }

    /// <summary>
    /// 0 (the default) to <see cref="MaxPriority"/>: a higher one is taken from its queue before lower ones waiting there
    /// (RabbitMQ's message priority on a queue declared with <c>x-max-priority</c>). Work already running is not preempted.
    /// </summary>
    public int Priority { get; init; }

    /// <summary>The highest <see cref="Priority"/>, and the task queues' <c>x-max-priority</c>.</summary>
    public const int MaxPriority = 9;

    /// <summary>The typed form for .NET callers: <c>TaskSignature.Create("SomeAsyncTask", 42UL)</c>.</summary>
    public static TaskSignature Create(string name, params object?[] args) =>
        new(name, args.Select(TaskArg.From).ToArray());
}
