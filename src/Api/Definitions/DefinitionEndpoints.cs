using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TaskHub.Api.Auth;
using TaskHub.Api.CallbackCenter;
using TaskHub.Api.Requests;
using TaskHub.Api.Tasks;
using TaskHub.Contracts.Definitions;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;

namespace TaskHub.Api.Definitions;

/// <summary>
/// Declared task types over HTTP (seed 001): add a task (<c>tasks.&lt;name&gt;.add</c>), read it
/// (<c>tasks.&lt;name&gt;.get</c>), and let an HTTP process report progress (<c>tasks.&lt;name&gt;.progress</c>).
/// </summary>
public static class DefinitionEndpoints
{
    public static IServiceCollection AddTaskDefinitionRoutes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTaskDefinitions(configuration);
        services.AddSingleton<DefinitionTaskStore>();
        services.AddSingleton<NextTaskIds>();
        return services;
    }

    public static IEndpointRouteBuilder MapDefinitionEndpoints(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/tasks").WithTags("Task definitions").WithRequestRules(limits => limits.Default);
        tasks.MapPost("/{name}", AddTask).WithName("AddDefinedTask")
            .WithSummary("Add a task of the declared type `name`; `id` (optional) makes the add idempotent").Accepts<AddTaskBody>("application/json")
            .RequireScope(Scopes.Submit).WithIdempotency();
        tasks.MapGet("/{name}/{id}", GetTask).WithName("GetDefinedTask")
            .WithSummary("A task of type `name` by the id the add answered (or the caller's own id): status, progress, response")
            .RequireScope(Scopes.Read);
        tasks.MapPost("/{id}/progress", ReportProgress).WithName("ReportTaskProgress")
            .WithSummary("An HTTP process reports how far its task is").Accepts<ProgressBody>("application/json").RequireScope(Scopes.Submit);
        return app;
    }

    static async Task<Results<Accepted<AddedTask>, Ok<AddedTask>, ValidationProblem, ProblemHttpResult>> AddTask(
        string name, HttpRequest request, TaskDefinitionCatalog catalog, DefinitionTaskStore store, NextTaskIds next,
        ISendEndpointProvider endpoints, IOptions<ApiOptions> api, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!catalog.TryGet(name, out var definition))
            return UnknownType(name, catalog);
        var body = (await JsonBody.ReadAsync(request, cancellationToken)).Fields();
        var (args, callerId) = DefinitionRequestReader.ReadAdd(body);
        if (!body.IsValid)
            return body.Errors.Problem("The task was not added");
        if (callerId is null && definition.Events.Next is not null)
        {
            try
            {
                callerId = await next.NextAsync(definition, cancellationToken);
            }
            catch (NextTaskIdException ex)
            {
                return Problems.Of(StatusCodes.Status502BadGateway, "event.next", "The task's id generator failed",
                    $"event.next of '{name}' ({definition.Events.Next}) {ex.Message}.");
            }
        }

        var caller = Caller.Of(request.HttpContext.User);
        var taskId = callerId is null ? Idempotency.IdFor(request.HttpContext) : DefinedTaskIds.From(definition.Id, callerId, caller.Owner);
        var (outcome, waiting) = await store.AdmitAsync(definition, taskId, cancellationToken);
        switch (outcome)
        {
            case Admission.Known:
                return TypedResults.Ok(new AddedTask(taskId));
            case Admission.Full:
                return Problems.Of(StatusCodes.Status429TooManyRequests, "name", "The task type is at capacity",
                    $"'{name}' has {waiting} task(s) waiting, its size is {definition.Size}; add again when some have started.");
        }
        try
        {
            await api.Value.WithinBrokerTimeout(deadline => endpoints.SubmitTaskAsync(new SubmitTask(taskId, new TaskSignature(definition.SignatureName, args), definition.Queue,
                definition.Policy, time.GetUtcNow(), Owner: caller.Owner), deadline), cancellationToken);
        }
        catch
        {
            await store.ForgetAsync(taskId, CancellationToken.None);
            throw;
        }
        return TypedResults.Accepted($"/tasks/{name}/{taskId}", new AddedTask(taskId));
    }

    static async Task<Results<Ok<DefinedTaskView>, ProblemHttpResult>> GetTask(
        string name, string id, HttpContext http, TaskDefinitionCatalog catalog, DefinitionTaskStore store, CancellationToken cancellationToken)
    {
        if (!catalog.TryGet(name, out var definition))
            return UnknownType(name, catalog);
        var caller = Caller.Of(http.User);
        var taskId = Guid.TryParse(id, out var guid) ? guid : DefinedTaskIds.From(definition.Id, id, caller.Owner);
        return await store.FindAsync(definition, taskId, caller.OwnerFilter, cancellationToken) is { } task
            ? TypedResults.Ok(task)
            : Problems.NotFound("id", "Task not found", $"No task '{id}' of type '{name}', or its result has expired.");
    }

    static async Task<Results<Accepted, ValidationProblem, ProblemHttpResult>> ReportProgress(
        string id, HttpRequest request, TaskReader tasks, IPublishEndpoint publish, IOptions<ApiOptions> api, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId)
            || await tasks.FindAsync(taskId, Caller.Of(request.HttpContext.User).OwnerFilter, cancellationToken) is not { } task)
            return TaskReader.NotFound(id);
        var body = (await JsonBody.ReadAsync(request, cancellationToken)).Fields();
        var progress = DefinitionRequestReader.ReadProgress(body);
        if (!body.IsValid)
            return body.Errors.Problem("The progress was not recorded");
        if (TaskStatuses.IsFinished(task.Status))
            return Problems.Of(StatusCodes.Status409Conflict, "id", "The task has finished", $"Task {taskId} is {task.Status}: progress no longer changes it.");
        await api.Value.WithinBrokerTimeout(deadline =>
            publish.Publish(new TaskProgressed(taskId, progress.Current, progress.Total, progress.Message, time.GetUtcNow()), deadline), cancellationToken);
        return TypedResults.Accepted((string?)null);
    }

    static ProblemHttpResult UnknownType(string name, TaskDefinitionCatalog catalog) =>
        Problems.NotFound("name", "Task type not found",
            $"No task type '{name}' is declared (declared: {string.Join(", ", catalog.All.Select(d => d.Id).Order(StringComparer.Ordinal))}).");
}
