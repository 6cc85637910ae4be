using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TaskHub.Api.Auth;

/// <summary>
/// The OpenAPI document declares the two ways to send a key, and on each operation the scope it needs
/// (as the security requirement's roles); capability routes (a confirm, a fire report) declare none.
/// </summary>
public static class ApiSecurity
{
    const string ApiKey = "ApiKey";
    const string Bearer = "Bearer";

    public static IServiceCollection AddApiSecurityDocument(this IServiceCollection services) =>
        services.ConfigureAll<OpenApiOptions>(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[ApiKey] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeyAuthentication.ApiKeyHeader,
                    Description = "An API key from Auth:Keys; its scopes are submit, read, manage, admin.",
                };
                document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "The same API key as 'Authorization: Bearer <key>'.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ScopeMetadata>().FirstOrDefault() is { } scope)
                    operation.Security =
                    [
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKey, context.Document)] = [scope.Scope] },
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [scope.Scope] },
                    ];
                return Task.CompletedTask;
            });
        });
}
