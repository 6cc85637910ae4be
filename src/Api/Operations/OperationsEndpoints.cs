using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Api.Cron;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Cron;

namespace TaskHub.Api.Operations;

/// <summary>
/// What operators look at beside the tasks (those are <c>/tasks</c>): groups, schedules, callbacks and
/// timers, pull queues, Workers and the broker's queues, and who the caller is. All read through
/// <see cref="MonitoringReader"/>; the dashboard shows exactly these.
/// </summary>
public static class OperationsEndpoints
{
    public static IEndpointRouteBuilder MapOperationsEndpoints(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup("").WithTags("Operations").WithRequestRules(limits => limits.Default);
        ops.MapGet("/me", Me).WithName("WhoAmI").WithSummary("The caller's key name and scopes").RequireScope(Scopes.Read);
        ops.MapGet("/groups", Groups).WithName("ListGroups").WithSummary("Concurrency groups with their running and waiting members").RequireScope(Scopes.Read);
        ops.MapGet("/groups/{name}", Group).WithName("GetGroup").WithSummary("A group's running and waiting members, oldest first").RequireScope(Scopes.Read);
        ops.MapGet("/schedules", Schedules).WithName("ListSchedules").WithSummary("Scheduled tasks (`/v1/task`) with next fire and last status").RequireScope(Scopes.Read);
        MapControl(ops, "pause", CronTaskAction.Pause, "PauseSchedule", "Stop firing until resumed");
        MapControl(ops, "resume", CronTaskAction.Resume, "ResumeSchedule", "Fire again from now on (missed fires are not made up)");
        MapControl(ops, "fire", CronTaskAction.Fire, "FireSchedule", "Fire once now, as a timer would (counted, in the history)");
        ops.MapGet("/callbacks", Callbacks).WithName("ListCallbacks")
            .WithSummary("`/callback/new` callbacks still to fire: timers, intervals, debounce windows (cancel with DELETE /callback/{id})").RequireScope(Scopes.Read);
        ops.MapGet("/pull-queues", PullQueues).WithName("ListPullQueues")
            .WithSummary("Pull queues: waiting, leased, replied, and the oldest waiting task's age").RequireScope(Scopes.Read);
        ops.MapGet("/workers", Workers).WithName("ListWorkers").WithSummary("Worker processes by their heartbeats; silent ones marked").RequireScope(Scopes.Read);
        ops.MapGet("/broker/queues", BrokerQueues).WithName("ListBrokerQueues")
            .WithSummary("TaskHub's RabbitMQ queues: depth and consumers, from the management API").RequireScope(Scopes.Read);
        return app;
    }

    static Ok<CallerView> Me(HttpContext http)
    {
        var name = http.User.Identity?.Name ?? ApiKeyAuthentication.AnonymousName;
        var scopes = http.User.FindAll(Scopes.ClaimType).Select(c => c.Value).ToList();
        // admin holds every scope, monitor reads: say so, so a client need not know those rules.
        if (scopes.Contains(Scopes.Admin))
            scopes = [.. Scopes.All];
        else if (scopes.Contains(Scopes.Monitor) && !scopes.Contains(Scopes.Read))
            scopes.Add(Scopes.Read);
        return TypedResults.Ok(new CallerView(name, scopes, name == ApiKeyAuthentication.AnonymousName));
    }

    static async Task<Ok<IReadOnlyList<GroupSummary>>> Groups(HttpContext http, MonitoringReader monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.GroupsAsync(Caller.Of(http.User).ReadFilter, cancellationToken));

    static async Task<Results<Ok<GroupDetail>, ProblemHttpResult>> Group(string name, HttpContext http, MonitoringReader monitoring,
        CancellationToken cancellationToken) =>
        await monitoring.GroupAsync(name, Caller.Of(http.User).ReadFilter, cancellationToken) is { } group
            ? TypedResults.Ok(group)
            : Problems.NotFound("name", "Group not found", $"No group is named '{name}'.");

    static async Task<Ok<IReadOnlyList<ScheduleSummary>>> Schedules(HttpContext http, MonitoringReader monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.SchedulesAsync(Caller.Of(http.User).ReadFilter, cancellationToken));

    static void MapControl(RouteGroupBuilder ops, string verb, CronTaskAction action, string name, string summary) =>
        ops.MapPost($"/schedules/{{id}}/{verb}", (string id, HttpContext http, NpgsqlDataSource database, IClientFactory clients, CancellationToken cancellationToken) =>
                Control(id, action, http, database, clients, cancellationToken))
            .WithName(name).WithSummary(summary).RequireScope(Scopes.Manage);

    static async Task<Results<Ok<CronTaskView>, ProblemHttpResult>> Control(string id, CronTaskAction action, HttpContext http,
        NpgsqlDataSource database, IClientFactory clients, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || !await CronEndpoints.OwnsAsync(database, taskId, http, cancellationToken))
            return CronEndpoints.NotFound(id);
        return await CronEndpoints.Ask<ControlCronTask, CronTaskSnapshot, CronTaskRejected, CronTaskNotFound>(clients,
                new ControlCronTask(taskId, action), cancellationToken) switch
        {
            CronTaskSnapshot changed => TypedResults.Ok(CronEndpoints.View(changed)),
            CronTaskRejected rejected => Problems.Of(StatusCodes.Status409Conflict, rejected.Field, "The schedule cannot do that", rejected.Detail),
            CronTaskNotFound => CronEndpoints.NotFound(id),
            _ => CronEndpoints.SchedulerUnavailable(),
        };
    }

    static async Task<Ok<IReadOnlyList<CallbackSummary>>> Callbacks(HttpContext http, MonitoringReader monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.CallbacksAsync(Caller.Of(http.User).ReadFilter, cancellationToken));

    static async Task<Ok<IReadOnlyList<PullQueueSummary>>> PullQueues(HttpContext http, MonitoringReader monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.PullQueuesAsync(Caller.Of(http.User), cancellationToken));

    static async Task<Ok<IReadOnlyList<WorkerView>>> Workers(MonitoringReader monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.WorkersAsync(cancellationToken));

    static async Task<Ok<BrokerQueues>> BrokerQueues(BrokerQueueReader broker, CancellationToken cancellationToken) =>
        TypedResults.Ok(await broker.ReadAsync(cancellationToken));
}
