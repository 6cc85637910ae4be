using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Tests.Unit;

public sealed class OutboundTests
{
    sealed class Fixed(OutboundOptions value) : IOptionsMonitor<OutboundOptions>
    {
        public OutboundOptions CurrentValue => value;
        public OutboundOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<OutboundOptions, string?> listener) => null;
    }

    static OutboundUrlPolicy Policy(OutboundOptions o) => new(new Fixed(o));

    [Theory]
    [InlineData("http://api.example.com/work", null)]
    [InlineData("https://x.partner.org/cb", null)]
    [InlineData("https://partner.org/cb", "not in the allowlist")]
    [InlineData("http://evil.com/", "not in the allowlist")]
    [InlineData("ftp://api.example.com/", "scheme 'ftp' is not allowed")]
    [InlineData("http://10.1.2.3/", null)]
    [InlineData("http://192.168.1.1/", "not in the allowed ranges")]
    [InlineData("http://127.0.0.1:3000/", "loopback")]
    [InlineData("http://localhost:3000/", "loopback")]
    [InlineData("/relative", "not an absolute URL")]
    [InlineData("", "is required")]
    public void Allowlist_decides_by_scheme_host_and_range(string url, string? refusal)
    {
        var policy = Policy(new OutboundOptions { AllowedHosts = ["api.example.com", "*.partner.org"], AllowedCidrs = ["10.0.0.0/8"] });
        var result = policy.Check(url);
        if (refusal is null)
            Assert.Null(result);
        else
            Assert.Contains(refusal, result);
    }

    [Fact]
    public void Loopback_is_allowed_only_when_configured()
    {
        Assert.Null(Policy(new OutboundOptions { AllowLoopback = true }).Check("http://localhost:3000/work"));
        Assert.Null(Policy(new OutboundOptions { AllowLoopback = true }).Check("http://127.0.0.1:3000/work"));
    }

    [Fact]
    public void Hmac_signature_is_verifiable_with_the_shared_key()
    {
        const string key = "0123456789abcdef0123456789abcdef";
        var signer = new OutboundSigner(new Fixed(new OutboundOptions { SigningKey = key }), TimeProvider.System);
        var body = Encoding.UTF8.GetBytes("{\"ok\":true}");
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("1700000000.{\"ok\":true}")));
        Assert.Equal(expected, signer.Sign(1700000000, body));
    }

    [Fact]
    public void Jwt_is_hs256_with_the_claims_iat_and_exp()
    {
        const string key = "0123456789abcdef0123456789abcdef";
        var signer = new OutboundSigner(new Fixed(new OutboundOptions { SigningKey = key }), TimeProvider.System);
        var token = signer.CreateJwt(new Dictionary<string, object?> { ["taskId"] = "t1", ["token"] = "f1" }, TimeSpan.FromMinutes(5));
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        static byte[] Decode(string s) => Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/').PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"));
        Assert.Equal(signature, Decode(parts[2]));
        var header = JsonDocument.Parse(Decode(parts[0])).RootElement;
        var claims = JsonDocument.Parse(Decode(parts[1])).RootElement;
        Assert.Equal("HS256", header.GetProperty("alg").GetString());
        Assert.Equal("t1", claims.GetProperty("taskId").GetString());
        Assert.Equal(300, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
    }
}
