using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TaskHub.Api.Requests;

/// <summary>
/// Marks a record as what a route reads (its body, or with <see cref="RequestSchemas.WithQuery{T}"/> its
/// query): the OpenAPI document requires exactly its <see cref="RequiredAttribute"/> members, the ones
/// the route's reader refuses to go without. (Generated from the record alone, every constructor
/// parameter would be required.) The fuzz tests hold the readers to the document.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequestShapeAttribute : Attribute;

public static class RequestSchemas
{
    public static IServiceCollection AddRequestSchemas(this IServiceCollection services) =>
        services.ConfigureAll<OpenApiOptions>(options =>
        {
            options.AddSchemaTransformer((schema, context, _) =>
            {
                var type = context.JsonTypeInfo.Type;
                if (type.GetCustomAttribute<RequestShapeAttribute>() is not null)
                    schema.Required = new HashSet<string>(RequiredNames(type));
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryShape>().FirstOrDefault() is { } query)
                {
                    operation.Parameters ??= [];
                    foreach (var property in query.Type.GetProperties())
                        operation.Parameters.Add(new OpenApiParameter
                        {
                            Name = JsonName(property),
                            In = ParameterLocation.Query,
                            Required = property.GetCustomAttribute<RequiredAttribute>() is not null,
                            Description = property.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()?.Description,
                            Schema = new OpenApiSchema { Type = IsInteger(property.PropertyType) ? JsonSchemaType.Integer : JsonSchemaType.String },
                        });
                }
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IdempotentMetadata>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = Idempotency.Header,
                        In = ParameterLocation.Header,
                        Description = "Send the same request again with the same key to get the first answer and create nothing (Api:IdempotencyWindow, 24 h); another request with it is 422.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 255 },
                    });
                }
                return Task.CompletedTask;
            });
        });

    /// <summary>Documents the query a route reads by hand as the properties of <typeparamref name="T"/>.</summary>
    public static RouteHandlerBuilder WithQuery<T>(this RouteHandlerBuilder route) where T : class =>
        route.WithMetadata(new QueryShape(typeof(T)));

    sealed record QueryShape(Type Type);

    static IEnumerable<string> RequiredNames(Type type) =>
        type.GetProperties().Where(p => p.GetCustomAttribute<RequiredAttribute>() is not null).Select(JsonName);

    static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<System.Text.Json.Serialization.JsonPropertyNameAttribute>()?.Name
        ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);

    static bool IsInteger(Type type) => (Nullable.GetUnderlyingType(type) ?? type) is var t && (t == typeof(int) || t == typeof(long));
}
