using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TaskHub.Api.Auth;
using TaskHub.Api.CallbackCenter;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

namespace TaskHub.Api.Tasks;

/// <summary>The body of <c>POST /tasks/batch</c> (for the OpenAPI document; <see cref="TaskBatchEndpoints"/> reads it).</summary>
[RequestShape]
public sealed record TaskBatchBody(
    [property: Required, Description("1 to 1000 tasks, each an HTTP task {callee, timeout, attempts, body} (as /task/new) or a .NET task {name, args, immutable}")]
    IReadOnlyList<JsonElement>? Tasks);

/// <summary>
/// <c>POST /tasks/batch</c> (issue 19): up to <see cref="SubmitTaskBatch.MaxTasks"/> tasks in one request, read as the steps of
/// <c>POST /workflows</c> are and sent as one <see cref="SubmitTaskBatch"/>, which the broker has confirmed before the answer.
/// Every task is checked first: one bad field is a 400 naming it (<c>tasks[3].callee</c>) and nothing is created.
/// </summary>
public static class TaskBatchEndpoints
{
    static readonly Guid MemberNamespace = new("c65d1f0e-7a42-4b9c-8e13-5f2a90d4b7c6");

    /// <summary>
    /// A literal segment outranks <c>POST /tasks/{name}</c> (a declared type's add), so a type cannot be named <c>batch</c>;
    /// <see cref="Contracts.Definitions.TaskDefinitionLoader"/> refuses that name.
    /// </summary>
    public static RouteHandlerBuilder MapSubmitBatch(this RouteGroupBuilder tasks) =>
        tasks.MapPost("/batch", Submit).WithName("SubmitTaskBatch").Accepts<TaskBatchBody>("application/json").RequireScope(Scopes.Submit)
            .WithIdempotency()
            .WithSummary($"Submit 1 to {SubmitTaskBatch.MaxTasks} HTTP and .NET tasks at once; answers {{ok, data: [task ids in order]}} once they are durable");

    static async Task<Results<Ok<CenterReply>, ValidationProblem>> Submit(HttpRequest request, OutboundUrlPolicy urls, ISendEndpointProvider endpoints,
        IOptions<ApiOptions> api, IServer server, ConfirmTokens tokens, TimeProvider time, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, cancellationToken);
        var fields = body.Fields();
        // Made from the idempotency key when there is one: a repeat after a lost answer makes the same task ids, taken once.
        var batchId = Idempotency.IdFor(request.HttpContext);
        var now = time.GetUtcNow();
        var baseUrl = api.Value.BaseUrl(server);
        var reader = new TaskStepReader(urls, task => tokens.CompletionUrl(baseUrl, task), Caller.Of(request.HttpContext.User).Owner, now);
        var tasks = new List<SubmitTask>();
        fields.OnlyKnown("tasks");
        var items = fields.Array("tasks", "must be an array of tasks");
        if (items is null or { Count: 0 })
        {
            // A wrong type was named by Array already.
            if (items is not null || !fields.Has("tasks"))
                fields.Fail("tasks", $"must be an array of 1 to {SubmitTaskBatch.MaxTasks} tasks.");
        }
        else if (items.Count > SubmitTaskBatch.MaxTasks)
            fields.Fail("tasks", $"holds {items.Count} tasks; a batch holds at most {SubmitTaskBatch.MaxTasks}.");
        else
        {
            for (var i = 0; i < items.Count; i++)
                if (reader.Read(fields.Item("tasks", i, items[i]), MemberId(batchId, i), [],
                        "a task is exactly one of an HTTP task (callee) or a .NET task (name); chains, groups and chords go to POST /workflows.") is { } task)
                    tasks.Add(task);
        }
        if (!body.Errors.IsValid)
            return body.Errors.Problem("No task was submitted");
        await api.Value.WithinBrokerTimeout(deadline => endpoints.SubmitTaskBatchAsync(new SubmitTaskBatch(batchId, tasks, now), deadline),
            cancellationToken);
        return TypedResults.Ok(new CenterReply(true, tasks.ConvertAll(t => t.TaskId.ToString())));
    }

    static Guid MemberId(Guid batchId, int index) => NameBasedIds.From(MemberNamespace, $"{batchId:N}/{index}");
}
