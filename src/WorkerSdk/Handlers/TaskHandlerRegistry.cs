using TaskHub.Contracts.Options;

namespace TaskHub.Worker.Handlers;

/// <summary>Handlers by task name, as gobay's <c>RegisterWorkerHandlers(map[string]interface{})</c>.</summary>
public sealed class TaskHandlerRegistry
{
    readonly Dictionary<string, TaskHandler> _handlers = new(StringComparer.Ordinal);

    public TaskHandlerRegistry Register(string name, Delegate handler, TaskNamePolicy? policy = null)
    {
        if (!_handlers.TryAdd(name, new TaskHandler(name, handler, policy)))
            throw new InvalidOperationException($"A handler named '{name}' is already registered.");
        return this;
    }

    public TaskHandlerRegistry RegisterWorkerHandlers(IReadOnlyDictionary<string, Delegate> handlers)
    {
        foreach (var (name, handler) in handlers)
            Register(name, handler);
        return this;
    }

    public bool TryGet(string name, out TaskHandler handler) => _handlers.TryGetValue(name, out handler!);

    public IReadOnlyCollection<string> Names => _handlers.Keys;
}
