using System.Text.Json;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Scheduler.Hooks;

/// <summary>
/// A .NET hook handler takes the payload's fields as its arguments, in seed 001's order:
/// <c>add(id)</c>, <c>success(id, response)</c>, <c>error(id, error)</c>, <c>progress(id, current, total, message)</c>.
/// </summary>
public static class TaskHookArguments
{
    static readonly Dictionary<string, string[]> Parameters = new(StringComparer.Ordinal)
    {
        [TaskHooks.Add] = ["id"],
        [TaskHooks.Success] = ["id", "response"],
        [TaskHooks.Error] = ["id", "error"],
        [TaskHooks.Progress] = ["id", "current", "total", "message"],
    };

    public static IReadOnlyList<TaskArg> From(string @event, string payload)
    {
        using var document = JsonDocument.Parse(payload);
        return Parameters[@event]
            .Select(name => JsonTaskArg.From(document.RootElement.TryGetProperty(name, out var value) ? value : default))
            .ToList();
    }
}
