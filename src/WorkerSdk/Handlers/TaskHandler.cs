using System.Reflection;
using System.Text.Json;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Worker.Handlers;

/// <summary>
/// A registered handler: any delegate whose parameters are the task's arguments in order, with
/// <see cref="ITaskContext"/> and <see cref="CancellationToken"/> parameters filled in wherever
/// they stand. A parameter of type <c>IReadOnlyList&lt;TaskArg&gt;</c> takes the arguments as sent, in
/// any number. It may return nothing, a value, a Task or a Task of a value; the value is the
/// task's response.
/// </summary>
public sealed class TaskHandler
{
    readonly Delegate _handler;
    readonly ParameterInfo[] _parameters;
    readonly bool _takesAllArguments;

    public TaskHandler(string name, Delegate handler, TaskNamePolicy? policy = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _handler = handler;
        _parameters = handler.Method.GetParameters();
        Policy = policy;
        ArgumentCount = _parameters.Count(p => !IsInjected(p.ParameterType));
        _takesAllArguments = _parameters.Any(p => p.ParameterType == typeof(IReadOnlyList<TaskArg>));
    }

    public string Name { get; }
    public TaskNamePolicy? Policy { get; }
    public int ArgumentCount { get; }

    /// <summary>Binds the task's arguments to the delegate's parameters; a mismatch is the caller's error, not worth a retry.</summary>
    public object?[] Bind(ITaskContext context)
    {
        if (!_takesAllArguments && context.Args.Count != ArgumentCount)
            throw new TaskArgumentException($"task '{Name}' takes {ArgumentCount} argument(s) but was sent {context.Args.Count}");
        var values = new object?[_parameters.Length];
        var next = 0;
        for (var i = 0; i < _parameters.Length; i++)
        {
            var type = _parameters[i].ParameterType;
            if (type == typeof(ITaskContext)) { values[i] = context; continue; }
            if (type == typeof(CancellationToken)) { values[i] = context.CancellationToken; continue; }
            if (type == typeof(IReadOnlyList<TaskArg>)) { values[i] = context.Args; continue; }
            var arg = context.Args[next++];
            try
            {
                values[i] = arg.Value.Deserialize(type);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
            {
                throw new TaskArgumentException(
                    $"argument {next} of task '{Name}' ({arg.Type} {arg.Value.GetRawText()}) does not convert to {type.Name}: {ex.Message}");
            }
        }
        return values;
    }

    /// <summary>Runs the handler and returns its response as JSON (null when it returns nothing).</summary>
    public async Task<string?> InvokeAsync(object?[] arguments)
    {
        object? returned;
        try
        {
            returned = _handler.DynamicInvoke(arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
        switch (returned)
        {
            case Task task:
                await task;
                var type = task.GetType();
                if (!type.IsGenericType)
                    return null;
                var result = type.GetProperty(nameof(Task<object>.Result))!.GetValue(task);
                return result is null || result.GetType().FullName == "System.Threading.Tasks.VoidTaskResult" ? null : JsonSerializer.Serialize(result);
            case ValueTask valueTask:
                await valueTask;
                return null;
            case null:
                return null;
            default:
                return JsonSerializer.Serialize(returned);
        }
    }

    static bool IsInjected(Type type) => type == typeof(ITaskContext) || type == typeof(CancellationToken) || type == typeof(IReadOnlyList<TaskArg>);
}

/// <summary>The task's arguments do not fit its handler: failing again would not help.</summary>
public sealed class TaskArgumentException(string message) : Exception(message);
