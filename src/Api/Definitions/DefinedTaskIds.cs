using System.Security.Cryptography;
using System.Text;

namespace TaskHub.Api.Definitions;

/// <summary>
/// The task id of a caller-chosen id: a name-based UUID (version 5) of the type and that id, so
/// the same id added twice is the same task, on any Api instance, without a lookup table. Ids are the
/// owner's own: two keys adding id 7 add two tasks (and neither can derive the other's).
/// </summary>
public static class DefinedTaskIds
{
    static readonly Guid Namespace = new("b5e3f0d2-6a1c-4f7e-9d38-2c4a7e1f0b96");

    public static Guid From(string definition, string callerId, string? owner = null)
    {
        // A type's id never holds '/', so no two (type, id) pairs share a name; an owner's name ends at the first '\n'.
        var name = Encoding.UTF8.GetBytes(owner is null ? $"{definition}/{callerId}" : $"{owner}\n{definition}/{callerId}");
        var input = new byte[16 + name.Length];
        Namespace.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input, 16);
        var hash = SHA1.HashData(input);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
