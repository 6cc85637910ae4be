using System.Text.Json;
using TaskHub.Contracts.Tasks;

namespace TaskHub.Contracts.Definitions;

/// <summary>Task arguments that arrive as JSON (an HTTP add, a hook's payload), typed by what the JSON holds.</summary>
public static class JsonTaskArg
{
    public static TaskArg From(JsonElement value) => new(value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "int64" : "float64",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Null or JsonValueKind.Undefined => "null",
        _ => "json",
    }, value.Clone());
}
