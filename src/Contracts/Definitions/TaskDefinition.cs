using TaskHub.Contracts.Messages;

namespace TaskHub.Contracts.Definitions;

/// <summary>
/// A declared task type (seed 001), from <c>tasks/&lt;id&gt;.json</c> or the configuration section
/// <c>TaskHub:Tasks:Definitions:&lt;id&gt;</c>. <see cref="Id"/> names the type in routes and queues;
/// <see cref="Name"/> is for people. <see cref="Source"/> is the file (or section) it came from.
/// </summary>
public sealed record TaskDefinition(
    string Id,
    string Name,
    string Source,
    int WorkerNums,
    int Attempts,
    int AttemptAfterMs,
    int TimeoutSeconds,
    int Size,
    TaskProcess Process,
    TaskEventHooks Events,
    bool ExponentialBackoff = false,
    Options.RateLimit? RateLimit = null)
{
    public const string QueuePrefix = "taskhub.def.";

    /// <summary>The type's own queue: every Worker consumes it, running at most <see cref="WorkerNums"/> of its tasks at once.</summary>
    public string Queue => QueuePrefix + Id;

    /// <summary>The policy its tasks carry, so it wins over whatever the Worker has for the handler's name.</summary>
    public TaskPolicy Policy => new(Attempts, AttemptAfterMs, TimeoutSeconds * 1000, ExponentialBackoff);

    /// <summary>The signature name of its tasks: the .NET handler, or the type's id for an HTTP process.</summary>
    public string SignatureName => Process.Handler ?? Id;
}

/// <summary>What runs a task: the .NET handler registered as <see cref="Handler"/>, or an HTTP callee at <see cref="Url"/>.</summary>
public sealed record TaskProcess(string? Handler, Uri? Url, string Method)
{
    public static TaskProcess ForHandler(string name) => new(name, null, "POST");

    public static TaskProcess ForUrl(Uri url, string method) => new(null, url, method);
}

/// <summary>The type's hooks (seed 001's <c>event</c>): each a .NET handler name or a webhook URL, or null.</summary>
public sealed record TaskEventHooks(string? Next, string? Add, string? Success, string? Error, string? Progress)
{
    public static readonly TaskEventHooks None = new(null, null, null, null, null);

    public string? For(string @event) => @event switch
    {
        TaskHooks.Next => Next,
        TaskHooks.Add => Add,
        TaskHooks.Success => Success,
        TaskHooks.Error => Error,
        TaskHooks.Progress => Progress,
        _ => null,
    };

    public IEnumerable<(string Event, string Target)> All =>
        from e in TaskHooks.Events let target = For(e) where target is not null select (e, target!);
}

public static class TaskHooks
{
    public const string Next = "next";
    public const string Add = "add";
    public const string Success = "success";
    public const string Error = "error";
    public const string Progress = "progress";

    public static readonly string[] Events = [Next, Add, Success, Error, Progress];

    /// <summary>The queue Workers run .NET hook handlers from.</summary>
    public const string HandlerQueue = "taskhub.task-hook-handlers";

    /// <summary>A hook is a webhook when it is an absolute http(s) URL, else it names a .NET handler.</summary>
    public static bool IsWebhook(string target) =>
        Uri.TryCreate(target, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
