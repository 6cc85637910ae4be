using TaskHub.Contracts.Tasks;

namespace TaskHub.Api.Definitions;

/// <summary>
/// The task id of a caller-chosen id: a name-based UUID of the type and that id, so the same id added
/// twice is the same task, on any Api instance, without a lookup table. Ids are the owner's own: two
/// keys adding id 7 add two tasks (and neither can derive the other's).
/// </summary>
public static class DefinedTaskIds
{
    static readonly Guid Namespace = new("b5e3f0d2-6a1c-4f7e-9d38-2c4a7e1f0b96");

    // A type's id never holds '/', so no two (type, id) pairs share a name; an owner's name ends at the first '\n'.
    public static Guid From(string definition, string callerId, string? owner = null) =>
        NameBasedIds.From(Namespace, owner is null ? $"{definition}/{callerId}" : $"{owner}\n{definition}/{callerId}");
}
