using System.Security.Cryptography;
using System.Text;
using Npgsql;
using TaskHub.Contracts.Messages;

namespace TaskHub.Hosting.Deduplication;

/// <summary>
/// A deduplication window (issue 20): the first request for some work within the window creates it, and every
/// repeat of it (the same fingerprint in the same scope) until the window closes gets the first one's id and creates
/// nothing. The window counts from the first request; a repeat does not extend it. The claim is made in the
/// transaction that creates the work, so a repeat racing the first waits for its commit (or its rollback, and then
/// claims itself): concurrent repeats make one piece of work. The longest window is <see cref="SubmitTaskOnce.LongestWindow"/>.
/// </summary>
public static class DeduplicationWindow
{
    /// <summary>Claims the window for <paramref name="id"/>, or returns the id that holds it.</summary>
    public static async Task<(Guid Id, bool Claimed)> ClaimAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string scope,
        byte[] fingerprint, Guid id, DateTimeOffset now, TimeSpan window, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using (var claim = new NpgsqlCommand("""
                INSERT INTO deduplications (scope, fingerprint, id, expires_at) VALUES ($1, $2, $3, $5)
                ON CONFLICT (scope, fingerprint) DO UPDATE SET id = EXCLUDED.id, expires_at = EXCLUDED.expires_at
                    WHERE deduplications.expires_at <= $4
                RETURNING id
                """, connection, transaction))
            {
                claim.Parameters.AddWithValue(scope);
                claim.Parameters.AddWithValue(fingerprint);
                claim.Parameters.AddWithValue(id);
                claim.Parameters.AddWithValue(now);
                claim.Parameters.AddWithValue(now + window);
                if (await claim.ExecuteScalarAsync(cancellationToken) is Guid claimed)
                    return (claimed, true);
            }
            // A statement of its own: its snapshot sees a holder that committed while the claim waited for it.
            await using var find = new NpgsqlCommand("SELECT id FROM deduplications WHERE scope = $1 AND fingerprint = $2", connection, transaction);
            find.Parameters.AddWithValue(scope);
            find.Parameters.AddWithValue(fingerprint);
            if (await find.ExecuteScalarAsync(cancellationToken) is Guid holder)
                return (holder, false);
            // The holder's window closed and the sweeper took it between the two statements: claim again.
        }
    }

    /// <summary>SHA-256 of the parts, each marked as present or absent and length-prefixed so no two lists hash alike.</summary>
    public static byte[] Fingerprint(params string?[] parts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts)
            sha.AppendData(Encoding.UTF8.GetBytes(part is null ? "-\n" : $"{Encoding.UTF8.GetByteCount(part)}:{part}\n"));
        return sha.GetHashAndReset();
    }
}
