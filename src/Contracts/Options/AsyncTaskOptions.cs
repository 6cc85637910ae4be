using Microsoft.Extensions.Options;

namespace TaskHub.Contracts.Options;

/// <summary>
/// The <c>AsyncTask</c> section, named after gobay's <c>asynctask_*</c> keys:
/// <c>asynctask_concurrency</c> is <c>AsyncTask:Concurrency</c>, and so on.
/// </summary>
public sealed class AsyncTaskOptions
{
    public const string Section = "AsyncTask";

    /// <summary>Tasks one Worker runs at once (gobay <c>asynctask_concurrency</c>).</summary>
    public int Concurrency { get; set; } = 10;

    /// <summary>AMQP URI of RabbitMQ, vhost in the path (gobay <c>asynctask_broker</c>).</summary>
    public string Broker { get; set; } = "";

    /// <summary>Queue tasks go to when the caller names none (gobay <c>asynctask_default_queue</c>).</summary>
    public string DefaultQueue { get; set; } = "taskhub.task";

    /// <summary>Queue of HTTP tasks (the Worker's built-in callee invoker reads it).</summary>
    public string HttpQueue { get; set; } = "taskhub.http";

    /// <summary>PostgreSQL connection string where task state and results live (gobay <c>asynctask_result_backend</c>).</summary>
    public string ResultBackend { get; set; } = "";

    /// <summary>Seconds a finished task stays readable (gobay <c>asynctask_results_expire_in</c>).</summary>
    public int ResultsExpireIn { get; set; } = 600;

    /// <summary>Attempts per task unless its name has its own policy; 1 means no retry.</summary>
    public int Attempts { get; set; } = 1;

    /// <summary>Milliseconds between attempts unless the task's name has its own policy.</summary>
    public int AttemptAfterMs { get; set; } = 200;

    /// <summary>Seconds one attempt may run before its token is cancelled and it counts as failed.</summary>
    public int TimeoutSeconds { get; set; } = 300;

    /// <summary>Per task name: <c>AsyncTask:Tasks:SomeAsyncTask:Attempts</c> and so on.</summary>
    public Dictionary<string, TaskNamePolicy> Tasks { get; set; } = new(StringComparer.Ordinal);
}

public sealed class TaskNamePolicy
{
    public int? Attempts { get; set; }
    public int? AttemptAfterMs { get; set; }
    /// <summary>Double the delay after each failed attempt (with jitter), up to the longest allowed delay.</summary>
    public bool? ExponentialBackoff { get; set; }
    public int? TimeoutSeconds { get; set; }
    /// <summary>How often tasks of this name may start, cluster-wide (<see cref="Options.RateLimit"/>): <c>AsyncTask:Tasks:&lt;name&gt;:RateLimit</c>.</summary>
    public string? RateLimit { get; set; }
}

/// <summary>Every bad value stops the host at start-up with a message naming its key.</summary>
public sealed class AsyncTaskOptionsValidator : IValidateOptions<AsyncTaskOptions>
{
    /// <summary>Retries wait in the Worker holding the message, so the wait stays well under RabbitMQ's 30-minute consumer timeout.</summary>
    public const int MaxAttemptAfterMs = 15 * 60 * 1000;

    public ValidateOptionsResult Validate(string? name, AsyncTaskOptions o)
    {
        var errors = new List<string>();
        const string s = AsyncTaskOptions.Section;
        if (o.Concurrency is < 1 or > 10_000)
            errors.Add($"{s}:Concurrency must be between 1 and 10000 (was {o.Concurrency}).");
        if (!Uri.TryCreate(o.Broker, UriKind.Absolute, out var broker) || broker.Scheme is not ("amqp" or "amqps" or "rabbitmq"))
            errors.Add($"{s}:Broker must be an amqp:// URI such as amqp://guest:guest@127.0.0.1:5672/ (was '{o.Broker}').");
        if (string.IsNullOrWhiteSpace(o.DefaultQueue) || o.DefaultQueue.Any(char.IsWhiteSpace))
            errors.Add($"{s}:DefaultQueue must be a queue name without spaces (was '{o.DefaultQueue}').");
        if (string.IsNullOrWhiteSpace(o.HttpQueue) || o.HttpQueue.Any(char.IsWhiteSpace) || o.HttpQueue == o.DefaultQueue)
            errors.Add($"{s}:HttpQueue must be a queue name without spaces, other than DefaultQueue (was '{o.HttpQueue}').");
        if (string.IsNullOrWhiteSpace(o.ResultBackend) || !o.ResultBackend.Contains("Host=", StringComparison.OrdinalIgnoreCase))
            errors.Add($"{s}:ResultBackend must be a PostgreSQL connection string such as Host=127.0.0.1;Username=...;Database=... (was '{o.ResultBackend}').");
        if (o.ResultsExpireIn < 1)
            errors.Add($"{s}:ResultsExpireIn must be at least 1 second (was {o.ResultsExpireIn}).");
        Check(errors, $"{s}", o.Attempts, o.AttemptAfterMs, o.TimeoutSeconds);
        foreach (var (task, p) in o.Tasks)
        {
            Check(errors, $"{s}:Tasks:{task}", p.Attempts, p.AttemptAfterMs, p.TimeoutSeconds);
            if (p.RateLimit is not null && !Options.RateLimit.TryParse(p.RateLimit, out _))
                errors.Add($"{s}:Tasks:{task}:RateLimit must be {Options.RateLimit.Forms} (was '{p.RateLimit}').");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    static void Check(List<string> errors, string prefix, int? attempts, int? attemptAfterMs, int? timeoutSeconds)
    {
        if (attempts is < 1 or > 100)
            errors.Add($"{prefix}:Attempts must be between 1 and 100 (was {attempts}).");
        if (attemptAfterMs is < 0 or > MaxAttemptAfterMs)
            errors.Add($"{prefix}:AttemptAfterMs must be between 0 and {MaxAttemptAfterMs} (was {attemptAfterMs}).");
        if (timeoutSeconds is < 1 or > 24 * 3600)
            errors.Add($"{prefix}:TimeoutSeconds must be between 1 and 86400 (was {timeoutSeconds}).");
    }
}
