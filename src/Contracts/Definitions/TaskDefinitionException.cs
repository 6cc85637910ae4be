namespace TaskHub.Contracts.Definitions;

/// <summary>A definition that cannot be used; the message names the file (or section) and the field.</summary>
public sealed class TaskDefinitionException(string origin, string field, string problem) : Exception(Describe(origin, field, problem))
{
    public string Origin { get; } = origin;
    public string Field { get; } = field;

    public static string Describe(string origin, string field, string problem) => $"Task definition {origin}: field '{field}' {problem}.";
}
