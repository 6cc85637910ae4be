using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TaskHub.Api.Auth;
using TaskHub.Api.CallbackCenter;
using TaskHub.Api.Operations;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Persistence;

namespace TaskHub.Api.Tasks;

/// <summary>
/// Every task, whoever submitted it and however (the .NET bus, <c>/task/new</c>, a defined task): read one,
/// list and count them, and what an operator does to them: retry, cancel, delete, one or many at once.
/// </summary>
public static class TaskEndpoints
{
    /// <summary>The most tasks one bulk request acts on.</summary>
    public const int MaxBulk = 1000;
    /// <summary>How far a bulk request counts what matches.</summary>
    const int CountUpTo = 100_000;

    static readonly string[] Retryable = [TaskStatuses.Failure, TaskStatuses.Cancelled];
    static readonly string[] Cancellable = [TaskStatuses.Waiting, TaskStatuses.Running];

    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/tasks").WithTags("Tasks").WithRequestRules(limits => limits.Default);
        tasks.MapGet("", List).WithName("ListTasks").WithQuery<TaskListQuery>().RequireScope(Scopes.Read)
            .WithSummary("Tasks newest first, filtered; `cursor` from the previous page for the next");
        tasks.MapSubmitBatch();
        tasks.MapGet("/stats", Stats).WithName("TaskStats").RequireScope(Scopes.Read)
            .WithSummary("Counts by status and by name, and submitted/succeeded/failed per minute over the last hour");
        tasks.MapGet("/{id}", GetTask).WithName("GetTask").WithSummary("A task's state, progress, result, runs and callback attempts").RequireScope(Scopes.Read);
        tasks.MapPost("/{id}/retry", Retry).WithName("RetryTask").RequireScope(Scopes.Manage)
            .WithSummary("Run a FAILURE or CANCELLED task again: one more attempt, same id, its earlier runs kept");
        tasks.MapPost("/{id}/cancel", Cancel).WithName("CancelTask").RequireScope(Scopes.Manage)
            .WithSummary("Cancel a WAITING or RUNNING task: it never starts, or its handler's token fires; a late result is ignored");
        tasks.MapDelete("/{id}", Delete).WithName("DeleteTask").RequireScope(Scopes.Manage)
            .WithSummary("Delete a finished task with its result and callback history");
        tasks.MapPost("/retry", RetryMany).WithName("RetryTasks").WithQuery<BulkQuery>().RequireScope(Scopes.Manage)
            .WithSummary("Retry the FAILURE/CANCELLED tasks the list filter matches, newest first, up to `max`; `dryRun` only counts");
        tasks.MapPost("/cancel", CancelMany).WithName("CancelTasks").WithQuery<BulkQuery>().RequireScope(Scopes.Manage)
            .WithSummary("Cancel the WAITING/RUNNING tasks the list filter matches, newest first, up to `max`; `dryRun` only counts");
        return app;
    }

    static async Task<Results<Ok<TaskPage>, ValidationProblem>> List(HttpContext http, MonitoringReader monitoring, CancellationToken cancellationToken)
    {
        var query = new QueryFields(http.Request.Query, new RequestErrors());
        var filter = TaskFilter.Read(query, Caller.Of(http.User).ReadFilter);
        var limit = (int?)query.Integer("limit", 1, TaskFilter.MaxPageSize) ?? 50;
        var cursor = TaskCursor.Read(query);
        if (!query.IsValid)
            return query.Errors.Problem("The query is invalid.");
        return TypedResults.Ok(await monitoring.ListAsync(filter, limit, cursor, cancellationToken));
    }

    static async Task<Ok<TaskStats>> Stats(HttpContext http, MonitoringReader monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.StatsAsync(Caller.Of(http.User).ReadFilter, cancellationToken));

    static async Task<Results<Ok<TaskView>, ProblemHttpResult>> GetTask(string id, HttpContext http, TaskReader reader, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || await reader.FindAsync(taskId, Caller.Of(http.User).ReadFilter, cancellationToken) is not { } task)
            return TaskReader.NotFound(id);
        return TypedResults.Ok(task);
    }

    static Task<Results<Accepted<TaskCommandAccepted>, ProblemHttpResult>> Retry(
        string id, HttpContext http, TaskReader reader, TaskCommands commands, CancellationToken cancellationToken) =>
        Command(id, http, reader, Retryable, "Only a FAILURE or CANCELLED task can be retried.", TaskStatuses.Waiting,
            (taskId, by) => commands.RetryAsync(taskId, by, cancellationToken), cancellationToken);

    static Task<Results<Accepted<TaskCommandAccepted>, ProblemHttpResult>> Cancel(
        string id, HttpContext http, TaskReader reader, TaskCommands commands, CancellationToken cancellationToken) =>
        Command(id, http, reader, Cancellable, "Only a WAITING or RUNNING task can be cancelled.", TaskStatuses.Cancelled,
            (taskId, by) => commands.CancelAsync(taskId, by, cancellationToken), cancellationToken);

    /// <summary>
    /// 202: the command is durably on its way to the saga, which decides; the task's status then says what
    /// won (a task that finished meanwhile stays finished). 409 when the task is already past where the command applies.
    /// </summary>
    static async Task<Results<Accepted<TaskCommandAccepted>, ProblemHttpResult>> Command(string id, HttpContext http, TaskReader reader,
        string[] appliesTo, string rule, string becomes, Func<Guid, string?, Task> send, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || await reader.FindAsync(taskId, Caller.Of(http.User).OwnerFilter, cancellationToken) is not { } task)
            return TaskReader.NotFound(id);
        if (!appliesTo.Contains(task.Status))
            return Conflict(id, task.Status, rule);
        await send(taskId, Caller.Of(http.User).Name);
        return TypedResults.Accepted($"/tasks/{taskId}", new TaskCommandAccepted(taskId, becomes));
    }

    static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, HttpContext http, TaskReader reader, TaskCommands commands, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || await reader.FindAsync(taskId, Caller.Of(http.User).OwnerFilter, cancellationToken) is not { } task)
            return TaskReader.NotFound(id);
        if (!TaskStatuses.IsFinished(task.Status))
            return Conflict(id, task.Status, "Only a finished task can be deleted; cancel it first.");
        return await commands.DeleteAsync(taskId, cancellationToken) ? TypedResults.NoContent() : Conflict(id, task.Status, "The task changed meanwhile; read it again.");
    }

    static Task<Results<Ok<BulkOutcome>, ValidationProblem>> RetryMany(HttpContext http, MonitoringReader monitoring, TaskCommands commands,
        CancellationToken cancellationToken) =>
        Bulk(http, monitoring, Retryable, (id, by) => commands.RetryAsync(id, by, cancellationToken), cancellationToken);

    static Task<Results<Ok<BulkOutcome>, ValidationProblem>> CancelMany(HttpContext http, MonitoringReader monitoring, TaskCommands commands,
        CancellationToken cancellationToken) =>
        Bulk(http, monitoring, Cancellable, (id, by) => commands.CancelAsync(id, by, cancellationToken), cancellationToken);

    /// <summary>The newest <c>max</c> tasks the filter matches (within <paramref name="statuses"/>) are sent the command; a dry run only says which and how many.</summary>
    static async Task<Results<Ok<BulkOutcome>, ValidationProblem>> Bulk(HttpContext http, MonitoringReader monitoring, string[] statuses,
        Func<Guid, string?, Task> command, CancellationToken cancellationToken)
    {
        var query = new QueryFields(http.Request.Query, new RequestErrors());
        var caller = Caller.Of(http.User);
        var filter = TaskFilter.Read(query, caller.OwnerFilter, statuses);
        var max = (int?)query.Integer("max", 1, MaxBulk) ?? 100;
        var dryRun = query.Flag("dryRun");
        if (!query.IsValid)
            return query.Errors.Problem("The query is invalid.");
        var (matched, ids) = await monitoring.MatchAsync(filter, max, CountUpTo, cancellationToken);
        if (!dryRun)
            foreach (var chunk in ids.Chunk(64))
                await Task.WhenAll(chunk.Select(id => command(id, caller.Name)));
        return TypedResults.Ok(new BulkOutcome(matched, dryRun ? 0 : ids.Count, dryRun, ids));
    }

    static ProblemHttpResult Conflict(string id, string status, string rule) =>
        Problems.Of(StatusCodes.Status409Conflict, "id", $"The task is {status}", $"Task '{id}' is {status}. {rule}");
}

/// <summary>The list's query (for the OpenAPI document; <see cref="TaskFilter"/> reads it).</summary>
public sealed record TaskListQuery(string? Status, string? Name, string? Queue, string? Group, DateTimeOffset? From, DateTimeOffset? To, string? Q,
    int? Limit, string? Cursor);

/// <summary>A bulk action's query: the list's filter, <c>max</c> (1–1000, default 100) and <c>dryRun</c>.</summary>
public sealed record BulkQuery(string? Status, string? Name, string? Queue, string? Group, DateTimeOffset? From, DateTimeOffset? To, string? Q,
    int? Max, bool? DryRun);

/// <summary>What the operations routes do to a task: commands to its saga, and the delete of a finished one.</summary>
public sealed class TaskCommands(ISendEndpointProvider endpoints, Npgsql.NpgsqlDataSource database, IOptions<ApiOptions> api, TimeProvider time)
{
    public async Task CancelAsync(Guid taskId, string? by, CancellationToken cancellationToken)
    {
        await api.Value.WithinBrokerTimeout(deadline => endpoints.SendTaskCommandAsync(new CancelTask(taskId, by, time.GetUtcNow()), deadline),
            cancellationToken);
    }

    /// <summary>
    /// The task's callback delivery is opened again first (a settled one would refuse the new outcome), with
    /// its attempts kept and numbered on; then the command goes to the saga.
    /// </summary>
    public async Task RetryAsync(Guid taskId, string? by, CancellationToken cancellationToken)
    {
        await using (var command = database.CreateCommand("""
            UPDATE callback_deliveries SET delivered_at = NULL, gave_up_at = NULL, next_attempt_at = NULL, body = NULL
            WHERE task_id = $1 AND (delivered_at IS NOT NULL OR gave_up_at IS NOT NULL)
            """))
        {
            command.Parameters.AddWithValue(taskId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await api.Value.WithinBrokerTimeout(deadline => endpoints.SendTaskCommandAsync(new RetryTask(taskId, by, time.GetUtcNow()), deadline),
            cancellationToken);
    }

    /// <summary>Deletes a finished task and what hangs off it (as the retention sweep does); false if it is not finished (any more).</summary>
    public async Task<bool> DeleteAsync(Guid taskId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(TaskRows.DeleteSql("id = $1 AND current_state IN ('Succeeded', 'Failed', 'Cancelled')"));
        command.Parameters.AddWithValue(taskId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
    }
}
