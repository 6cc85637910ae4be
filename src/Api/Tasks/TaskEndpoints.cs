using Microsoft.AspNetCore.Http.HttpResults;
using TaskHub.Api.Auth;
using TaskHub.Api.Requests;

namespace TaskHub.Api.Tasks;

public static class TaskEndpoints
{
    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/tasks").WithTags("Tasks").WithRequestRules(limits => limits.Default);
        tasks.MapGet("/{id}", GetTask).WithName("GetTask").WithSummary("A task's state, progress and result").RequireScope(Scopes.Read);
        return app;
    }

    static async Task<Results<Ok<TaskView>, ProblemHttpResult>> GetTask(string id, HttpContext http, TaskReader reader, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || await reader.FindAsync(taskId, Caller.Of(http.User).OwnerFilter, cancellationToken) is not { } task)
            return TaskReader.NotFound(id);
        return TypedResults.Ok(task);
    }
}
