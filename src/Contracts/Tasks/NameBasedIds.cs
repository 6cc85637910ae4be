using System.Security.Cryptography;
using System.Text;

namespace TaskHub.Contracts.Tasks;

/// <summary>
/// Name-based UUIDs (version 5, RFC 4122): the same name in the same namespace is the same id on every
/// process, without a lookup table. A caller-chosen task id and an idempotency key become task ids this way.
/// </summary>
public static class NameBasedIds
{
    public static Guid From(Guid @namespace, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + bytes.Length];
        @namespace.TryWriteBytes(input, bigEndian: true, out _);
        bytes.CopyTo(input, 16);
        var hash = SHA1.HashData(input);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
