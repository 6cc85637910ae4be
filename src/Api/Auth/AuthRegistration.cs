using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using TaskHub.Api.Requests;

namespace TaskHub.Api.Auth;

public static class AuthRegistration
{
    const string CorsPolicy = "TaskHub";

    /// <summary>API keys and scopes, confirm tokens, the per-key rate limit and (when configured) CORS.</summary>
    public static IServiceCollection AddTaskHubAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<ConfirmTokens>();
        services.AddSingleton<ApiKeys>();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization(Scopes.AddScopePolicies);
        services.AddApiSecurityDocument();
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var limit = http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.RateLimit;
                // Per key; a caller without one is counted by its address.
                var partition = Caller.Of(http.User).Name ?? http.Connection.RemoteIpAddress?.ToString() ?? "";
                return limit.PerSecond == 0
                    ? RateLimitPartition.GetNoLimiter(partition)
                    : RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = limit.Burst,
                        TokensPerPeriod = limit.PerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                    });
            });
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var http = context.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = Problems.Details(StatusCodes.Status429TooManyRequests, "Authorization", "Too many requests",
                        "This key sends more requests than Auth:RateLimit allows; send again after Retry-After seconds."),
                });
            };
        });
        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            var origins = configuration.GetSection($"{AuthOptions.Section}:{nameof(AuthOptions.CorsOrigins)}").Get<string[]>() ?? [];
            policy.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod();
        }));
        return services;
    }

    public static WebApplication UseTaskHubAuth(this WebApplication app)
    {
        // No CORS unless origins are configured: a browser on another site then cannot read an answer.
        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.CorsOrigins.Count > 0)
            app.UseCors(CorsPolicy);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }
}
