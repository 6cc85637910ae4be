using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Contracts.Definitions;

/// <summary>The <c>TaskHub:Tasks</c> section: <c>Path</c> (the folder of definition files) and <c>Definitions:&lt;id&gt;:...</c>.</summary>
public sealed class TaskDefinitionOptions
{
    public const string Section = "TaskHub:Tasks";

    /// <summary>Folder of <c>&lt;id&gt;.json</c> files; <c>./run.sh</c> sets it to the repository's <c>tasks/</c>.</summary>
    public string? Path { get; set; }
}

/// <summary>Loads the host's definitions once. Start-up validation reads <see cref="LoadError"/>; everything else gets <see cref="Catalog"/>.</summary>
public sealed class TaskDefinitionSource(IConfiguration section)
{
    // Caches the exception too: every reader sees the same outcome.
    readonly Lazy<TaskDefinitionCatalog> _catalog = new(() => TaskDefinitionLoader.Load(section, Environment.GetEnvironmentVariable));

    public TaskDefinitionCatalog Catalog => _catalog.Value;

    public string? LoadError
    {
        get
        {
            try
            {
                _ = _catalog.Value;
                return null;
            }
            catch (TaskDefinitionException ex)
            {
                return ex.Message;
            }
        }
    }
}

/// <summary>A bad definition, or a URL in one that the outbound allowlist refuses, stops the host at start-up.</summary>
public sealed class TaskDefinitionValidator(TaskDefinitionSource source, OutboundUrlPolicy urls) : IValidateOptions<TaskDefinitionOptions>
{
    public ValidateOptionsResult Validate(string? name, TaskDefinitionOptions options)
    {
        if (source.LoadError is { } error)
            return ValidateOptionsResult.Fail(error);
        var errors = new List<string>();
        foreach (var definition in source.Catalog.All)
        {
            if (definition.Process.Url is { } url && urls.Check(url) is { } refusal)
                errors.Add(TaskDefinitionException.Describe(definition.Source, "process.url", refusal));
            foreach (var (hook, target) in definition.Events.All)
                if (TaskHooks.IsWebhook(target) && urls.Check(target) is { } hookRefusal)
                    errors.Add(TaskDefinitionException.Describe(definition.Source, $"event.{hook}", hookRefusal));
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class TaskDefinitionRegistration
{
    /// <summary>The <see cref="TaskDefinitionCatalog"/>, validated at start-up (call with <c>AddTaskHubOutbound</c>, whose allowlist it checks URLs against).</summary>
    public static IServiceCollection AddTaskDefinitions(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(TaskDefinitionOptions.Section);
        services.TryAddSingleton(new TaskDefinitionSource(section));
        // Reading the options runs the validators first: wherever the catalog is first needed (a
        // hosted service, the bus), a bad definition fails the start as an OptionsValidationException.
        services.TryAddSingleton(sp =>
        {
            _ = sp.GetRequiredService<IOptions<TaskDefinitionOptions>>().Value;
            return sp.GetRequiredService<TaskDefinitionSource>().Catalog;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TaskDefinitionOptions>, TaskDefinitionValidator>());
        services.AddOptions<TaskDefinitionOptions>().Bind(section).ValidateOnStart();
        return services;
    }
}
