using System.Security.Cryptography;
using System.Text;

namespace TaskHub.Api.Auth;

/// <summary>
/// <c>dotnet TaskHub.Api.dll keys new &lt;name&gt; &lt;scope&gt;...</c>: mints a key and prints it once, with the
/// settings that configure its hash (the key itself is never stored).
/// </summary>
public static class KeysCommand
{
    public static bool TryRun(string[] args, TextWriter output)
    {
        if (args is not ["keys", "new", var name, .. var scopes])
            return false;
        var unknown = scopes.Where(s => !Scopes.All.Contains(s)).ToList();
        if (scopes.Length == 0 || unknown.Count > 0)
        {
            output.WriteLine($"usage: keys new <name> <scope>... (scopes: {string.Join(", ", Scopes.All)})");
            return true;
        }
        var key = "thk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        output.WriteLine($"key:  {key}   (give it to the caller; it is not shown again)");
        output.WriteLine($"hash: {hash}");
        output.WriteLine("settings (n: the key's index in Auth:Keys):");
        output.WriteLine($"  Auth__Keys__n__Name={name}");
        output.WriteLine($"  Auth__Keys__n__Hash={hash}");
        for (var i = 0; i < scopes.Length; i++)
            output.WriteLine($"  Auth__Keys__n__Scopes__{i}={scopes[i]}");
        return true;
    }
}
