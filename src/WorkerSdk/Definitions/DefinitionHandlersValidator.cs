using Microsoft.Extensions.Options;
using TaskHub.Contracts.Definitions;
using TaskHub.Worker.Handlers;

namespace TaskHub.Worker.Definitions;

/// <summary>Every Worker runs every type, so a process or hook naming a handler this Worker lacks stops it at start-up.</summary>
public sealed class DefinitionHandlersValidator(TaskDefinitionSource source, TaskHandlerRegistry handlers) : IValidateOptions<TaskDefinitionOptions>
{
    public ValidateOptionsResult Validate(string? name, TaskDefinitionOptions options)
    {
        if (source.LoadError is not null)
            return ValidateOptionsResult.Skip; // TaskDefinitionValidator reports it
        var errors = new List<string>();
        foreach (var definition in source.Catalog.All)
        {
            if (definition.Process.Handler is { } process && !handlers.TryGet(process, out _))
                errors.Add(Missing(definition, "process", process));
            foreach (var (hook, target) in definition.Events.All)
                if (!TaskHooks.IsWebhook(target) && !handlers.TryGet(target, out _))
                    errors.Add(Missing(definition, $"event.{hook}", target));
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    string Missing(TaskDefinition definition, string field, string handler) =>
        TaskDefinitionException.Describe(definition.Source, field,
            $"names the handler '{handler}', which is not registered in this Worker (registered: {string.Join(", ", handlers.Names.Order(StringComparer.Ordinal))})");
}
