using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace TaskHub.Contracts.Outbound;

public static class OutboundRegistration
{
    public const string HttpClientName = "taskhub-outbound";

    /// <summary>The allowlist, the signer, and the named <see cref="HttpClient"/> every outbound call goes through.</summary>
    public static IServiceCollection AddTaskHubOutbound(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboundOptions>, OutboundOptionsValidator>());
        services.AddOptions<OutboundOptions>().Bind(configuration.GetSection(OutboundOptions.Section)).ValidateOnStart();
        services.TryAddSingleton<OutboundUrlPolicy>();
        services.TryAddSingleton<OutboundSigner>();
        services.TryAddTransient<OutboundHandler>();
        services.AddHttpClient(HttpClientName, (sp, client) =>
                client.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<OutboundOptions>>().Value.TimeoutSeconds))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .AddHttpMessageHandler<OutboundHandler>();
        return services;
    }
}
