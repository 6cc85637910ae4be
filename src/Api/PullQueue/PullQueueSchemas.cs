using Microsoft.AspNetCore.OpenApi;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// The OpenAPI document says which fields of the /task/&lt;op&gt; bodies are required the way
/// <see cref="RequestBody"/> reads them: only the queue and task names; every other field has a
/// default. (Generated from the records alone, every constructor parameter would be required.)
/// </summary>
static class PullQueueSchemas
{
    static readonly Dictionary<Type, string[]> RequiredFields = new()
    {
        [typeof(PutRequest)] = ["queue", "id"],
        [typeof(PeekRequest)] = ["queue"],
        [typeof(AcquireRequest)] = ["queue", "ids"],
        [typeof(ReplyRequest)] = ["queue", "id"],
        [typeof(CallRequest)] = ["queue", "id"],
        [typeof(TaskKeyRequest)] = ["queue", "id"],
        [typeof(QueueRequest)] = ["queue"],
        [typeof(TaskConfig)] = [],
    };

    public static void MarkRequiredFields(OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (RequiredFields.TryGetValue(context.JsonTypeInfo.Type, out var required))
                schema.Required = new HashSet<string>(required);
            return Task.CompletedTask;
        });
}
