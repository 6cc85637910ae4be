using MassTransit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TaskHub.Api.Auth;
using TaskHub.Api.CallbackCenter;
using TaskHub.Api.Operations;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Api.Workflows;

/// <summary>Chains, groups and chords of HTTP and .NET tasks for callers without .NET (issue 18): start one, read it, cancel it.</summary>
public static class WorkflowEndpoints
{
    public static IEndpointRouteBuilder MapWorkflowEndpoints(this IEndpointRouteBuilder app)
    {
        var workflows = app.MapGroup("/workflows").WithTags("Workflows").WithRequestRules(limits => limits.Default);
        workflows.MapPost("", Start).WithName("StartWorkflow").Accepts<WorkflowBody>("application/json").RequireScope(Scopes.Submit).WithIdempotency()
            .WithSummary("Run a chain, group or chord (nestable) of HTTP tasks ({callee, timeout, attempts, body}) and .NET tasks ({name, args}); " +
                "`callback` gets the outcome; answers {ok, data: <workflow id>}");
        workflows.MapGet("/{id}", Get).WithName("GetWorkflow").RequireScope(Scopes.Read)
            .WithSummary("A workflow's state and result, and every member's");
        workflows.MapPost("/{id}/cancel", Cancel).WithName("CancelWorkflow").RequireScope(Scopes.Manage)
            .WithSummary("Cancel a RUNNING or FAILURE workflow: nothing more of it starts, its members still waiting or running are cancelled");
        return app;
    }

    static async Task<Results<Ok<CenterReply>, ValidationProblem>> Start(HttpRequest request, OutboundUrlPolicy urls, ISendEndpointProvider endpoints,
        IOptions<ApiOptions> api, IServer server, ConfirmTokens tokens, TimeProvider time, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(request, cancellationToken);
        var id = Idempotency.IdFor(request.HttpContext);
        var now = time.GetUtcNow();
        var owner = Caller.Of(request.HttpContext.User).Owner;
        var baseUrl = api.Value.BaseUrl(server);
        var (spec, callback) = new WorkflowRequest(urls, task => tokens.CompletionUrl(baseUrl, task), owner, now)
            .Read(body.Fields(), id);
        if (spec is null)
            return body.Errors.Problem("The workflow was not started");
        await api.Value.WithinBrokerTimeout(deadline => endpoints.SendWorkflowCommandAsync(new StartWorkflow(id, spec, now, owner, Callback: callback),
            deadline), cancellationToken);
        return TypedResults.Ok(new CenterReply(true, id.ToString()));
    }

    static async Task<Results<Ok<WorkflowView>, ProblemHttpResult>> Get(string id, HttpContext http, WorkflowReader reader, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var workflowId) && await reader.FindAsync(workflowId, Caller.Of(http.User).ReadFilter, cancellationToken) is { } workflow
            ? TypedResults.Ok(workflow)
            : NotFound(id);

    static async Task<Results<Accepted<TaskCommandAccepted>, ProblemHttpResult>> Cancel(string id, HttpContext http, WorkflowReader reader,
        ISendEndpointProvider endpoints, IOptions<ApiOptions> api, TimeProvider time, CancellationToken cancellationToken)
    {
        var caller = Caller.Of(http.User);
        if (!Guid.TryParse(id, out var workflowId) || await reader.FindAsync(workflowId, caller.OwnerFilter, cancellationToken) is not { } workflow)
            return NotFound(id);
        if (workflow.Status is not (TaskStatuses.Running or TaskStatuses.Failure))
            return Problems.Of(StatusCodes.Status409Conflict, "id", $"The workflow is {workflow.Status}",
                $"Workflow '{id}' is {workflow.Status}. Only a RUNNING or FAILURE workflow can be cancelled.");
        await api.Value.WithinBrokerTimeout(deadline => endpoints.SendWorkflowCommandAsync(new CancelWorkflow(workflowId, caller.Name, time.GetUtcNow()),
            deadline), cancellationToken);
        return TypedResults.Accepted($"/workflows/{workflowId}", new TaskCommandAccepted(workflowId, TaskStatuses.Cancelled));
    }

    static ProblemHttpResult NotFound(string id) =>
        Problems.NotFound("id", "Workflow not found", $"No workflow '{id}', or its result has expired.");
}
