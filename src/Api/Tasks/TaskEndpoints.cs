using Microsoft.AspNetCore.Http.HttpResults;

namespace TaskHub.Api.Tasks;

public static class TaskEndpoints
{
    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/tasks").WithTags("Tasks");
        tasks.MapGet("/{id}", GetTask).WithName("GetTask").WithSummary("A task's state, progress and result");
        return app;
    }

    static async Task<Results<Ok<TaskView>, ProblemHttpResult>> GetTask(string id, TaskReader reader, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId))
            return TypedResults.Problem(statusCode: 404, title: "Task not found", detail: $"'{id}' is not a task id.",
                extensions: new Dictionary<string, object?> { ["field"] = "id" });
        var task = await reader.FindAsync(taskId, cancellationToken);
        return task is null
            ? TypedResults.Problem(statusCode: 404, title: "Task not found", detail: $"No task {taskId}, or its result has expired.",
                extensions: new Dictionary<string, object?> { ["field"] = "id" })
            : TypedResults.Ok(task);
    }
}
