using Microsoft.AspNetCore.Http.HttpResults;

namespace TaskHub.Api.Requests;

/// <summary>
/// Every bad field, query parameter or header of one request, keyed by its name. A request is answered
/// with all of them in one 400 (nothing is created), not stopped at the first.
/// </summary>
public sealed class RequestErrors
{
    readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public bool Has(string field) => _errors.ContainsKey(field);

    /// <summary>Records <paramref name="rule"/> for <paramref name="field"/>: the message reads <c>'field' rule</c>.</summary>
    public void Add(string field, string rule)
    {
        var message = $"'{field}' {rule}";
        if (!_errors.TryGetValue(field, out var earlier))
            _errors[field] = [message];
        else if (!earlier.Contains(message))
            _errors[field] = [.. earlier, message];
    }

    /// <summary>Records an error on <paramref name="field"/> unless <paramref name="holds"/>: for rules between fields.</summary>
    public void Require(bool holds, string field, string rule)
    {
        if (!holds)
            Add(field, rule);
    }

    /// <summary>The 400 answer: every bad field under <c>errors</c>, the first one under <c>field</c> and in <c>detail</c>.</summary>
    public ValidationProblem Problem(string title)
    {
        var (field, messages) = _errors.First();
        return TypedResults.ValidationProblem(_errors, title: title, detail: messages[0],
            extensions: new Dictionary<string, object?> { ["field"] = field });
    }
}
