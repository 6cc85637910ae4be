using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Handlers;
using TaskHub.Worker.HttpCallee;

namespace TaskHub.Worker.Definitions;

/// <summary>
/// The built-in handler of a task type whose process is an HTTP callee: it is called with
/// <c>?id=&lt;task id&gt;</c> and the body <c>{"args": [...]}</c>. A 2xx answer is the task's response
/// (its JSON, or its text as a JSON string); any other answer is a failed attempt. The attempt's
/// timeout cancels the call.
/// </summary>
public static class HttpProcess
{
    /// <summary>A registry of the one handler that runs <paramref name="definition"/>'s tasks on its own queue.</summary>
    public static TaskHandlerRegistry RegistryFor(TaskDefinition definition) =>
        new TaskHandlerRegistry().Register(definition.SignatureName,
            (IReadOnlyList<TaskArg> args, ITaskContext context) => CallAsync(definition.Process, args, context));

    static async Task<JsonElement?> CallAsync(TaskProcess process, IReadOnlyList<TaskArg> args, ITaskContext context)
    {
        var client = context.Services.GetRequiredService<IHttpClientFactory>().CreateClient(OutboundRegistration.HttpClientName);
        // The definition's timeout (the attempt's token) bounds the call, not Outbound:TimeoutSeconds.
        client.Timeout = Timeout.InfiniteTimeSpan;
        var url = QueryHelpers.AddQueryString(process.Url!.ToString(), "id", context.TaskId.ToString());
        using var request = new HttpRequestMessage(new HttpMethod(process.Method), url);
        if (process.Method != "GET")
            request.Content = new StringContent(JsonSerializer.Serialize(new { args = args.Select(a => a.Value) }),
                Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        request.Options.Set(OutboundHandler.TaskId, context.TaskId.ToString());
        using var response = await client.SendAsync(request, context.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpProcessFailedException($"process answered HTTP {(int)response.StatusCode}{Excerpt(body)}");
        if (string.IsNullOrWhiteSpace(body))
            return null;
        using var document = JsonDocument.Parse(CalleeResponse.AsJson(body));
        return document.RootElement.Clone();
    }

    static string Excerpt(string body) =>
        string.IsNullOrWhiteSpace(body) ? "" : ": " + (body.Length <= 200 ? body : body[..200] + "…");
}

public sealed class HttpProcessFailedException(string message) : Exception(message);
