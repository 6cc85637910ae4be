using System.Diagnostics.CodeAnalysis;

namespace TaskHub.Contracts.Definitions;

/// <summary>The declared task types of this host, by id and by queue.</summary>
public sealed class TaskDefinitionCatalog
{
    readonly Dictionary<string, TaskDefinition> _byId = new(StringComparer.Ordinal);
    readonly Dictionary<string, TaskDefinition> _byQueue = new(StringComparer.Ordinal);

    public TaskDefinitionCatalog(IEnumerable<TaskDefinition> definitions)
    {
        foreach (var definition in definitions)
        {
            if (_byId.TryGetValue(definition.Id, out var first))
                throw new TaskDefinitionException(definition.Source, "id", $"'{definition.Id}' is already defined by {first.Source}");
            _byId.Add(definition.Id, definition);
            _byQueue.Add(definition.Queue, definition);
        }
    }

    public IReadOnlyCollection<TaskDefinition> All => _byId.Values;

    public bool TryGet(string id, [NotNullWhen(true)] out TaskDefinition? definition) => _byId.TryGetValue(id, out definition);

    /// <summary>The type whose tasks go to <paramref name="queue"/>; null for a task of no declared type.</summary>
    public TaskDefinition? ForQueue(string queue) => _byQueue.GetValueOrDefault(queue);
}
