using System.Text;
using System.Text.Encodings.Web;

namespace TaskHub.Worker.HttpCallee;

/// <summary>
/// ASP.NET Core's <c>QueryHelpers.AddQueryString</c>, as it does it (before the fragment, null values left out, each
/// part encoded with <see cref="UrlEncoder.Default"/>): the worker package takes no ASP.NET Core for one method.
/// </summary>
static class QueryHelpers
{
    public static string AddQueryString(string uri, string name, string value) => AddQueryString(uri, [KeyValuePair.Create(name, (string?)value)]);

    public static string AddQueryString(string uri, IEnumerable<KeyValuePair<string, string?>> queryString)
    {
        var anchor = uri.IndexOf('#');
        var (head, fragment) = anchor < 0 ? (uri, "") : (uri[..anchor], uri[anchor..]);
        var hasQuery = head.Contains('?');
        var url = new StringBuilder(head);
        foreach (var (key, value) in queryString)
        {
            if (value is null)
                continue;
            url.Append(hasQuery ? '&' : '?').Append(UrlEncoder.Default.Encode(key)).Append('=').Append(UrlEncoder.Default.Encode(value));
            hasQuery = true;
        }
        return url.Append(fragment).ToString();
    }
}
