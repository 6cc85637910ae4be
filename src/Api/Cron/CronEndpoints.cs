using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Api.Requests;
using TaskHub.Contracts.Cron;
using TaskHub.Contracts.Outbound;

namespace TaskHub.Api.Cron;

/// <summary>
/// Scheduled offline tasks (seed 003) under <c>/v1/task</c>. Quartz lives in the Scheduler: every
/// change and every read of a definition is a request to it; the history is read from the table.
/// </summary>
public static class CronEndpoints
{
    static readonly RequestTimeout SchedulerTimeout = RequestTimeout.After(s: 15);
    const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapCronEndpoints(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/v1/task").WithTags("Scheduled tasks").WithRequestRules(limits => limits.Default);
        tasks.MapPost("", Create).Accepts<CronTaskBody>("application/json").RequireScope(Scopes.Submit).WithIdempotency()
            .WithName("CreateScheduledTask").WithSummary("Schedule a cron task: its callback is called at every fire");
        tasks.MapPost("/quick", CreateQuick).Accepts<QuickTaskBody>("application/json").RequireScope(Scopes.Submit).WithIdempotency()
            .WithName("CreateQuickTask").WithSummary("Call a callback once at a unix second (now if past)");
        // No key: the fire's token (128 random bits, handed to the receiver) is the capability.
        tasks.MapPost("/status", ReportStatus).Accepts<StatusReportBody>("application/json").AllowAnonymous()
            .WithName("ReportScheduledTaskStatus").WithSummary("Report SUCCESS or FAILED for the fire whose X-TaskHub-Token is taskToken");
        tasks.MapGet("/history", History).WithQuery<HistoryQuery>().RequireScope(Scopes.Read)
            .WithName("ScheduledTaskHistory").WithSummary("Fires newest first, each with its delivery attempts; filter by taskId and fire time");
        tasks.MapGet("/{id}", Get).RequireScope(Scopes.Read)
            .WithName("GetScheduledTask").WithSummary("A task's definition, next fire time and fire count");
        tasks.MapPut("/{id}", Replace).Accepts<CronTaskBody>("application/json").RequireScope(Scopes.Manage)
            .WithName("ReplaceScheduledTask").WithSummary("Replace a task's definition; the next fire uses it");
        tasks.MapDelete("/{id}", Delete).RequireScope(Scopes.Manage)
            .WithName("DeleteScheduledTask").WithSummary("Stop and remove a task and its history");
        return app;
    }

    static async Task<Results<Created<CronTaskView>, ValidationProblem, ProblemHttpResult>> Create(
        HttpRequest request, OutboundUrlPolicy urls, IClientFactory clients, CancellationToken cancellationToken)
    {
        var body = (await JsonBody.ReadAsync(request, cancellationToken)).Fields();
        return await Schedule(body.Errors, new CronRequestReader(urls).CronTask(body), request.HttpContext, clients, cancellationToken);
    }

    static async Task<Results<Created<CronTaskView>, ValidationProblem, ProblemHttpResult>> CreateQuick(
        HttpRequest request, OutboundUrlPolicy urls, IClientFactory clients, CancellationToken cancellationToken)
    {
        var body = (await JsonBody.ReadAsync(request, cancellationToken)).Fields();
        return await Schedule(body.Errors, new CronRequestReader(urls).QuickTask(body), request.HttpContext, clients, cancellationToken);
    }

    static async Task<Results<Created<CronTaskView>, ValidationProblem, ProblemHttpResult>> Schedule(
        RequestErrors errors, CronTaskSpec spec, HttpContext http, IClientFactory clients, CancellationToken cancellationToken)
    {
        if (!errors.IsValid)
            return errors.Problem(Invalid);
        var id = Idempotency.IdFor(http);
        switch (await Ask<ScheduleCronTask, CronTaskSnapshot, CronTaskRejected>(clients, new ScheduleCronTask(id, spec, false, Caller.Of(http.User).Owner),
                    cancellationToken))
        {
            case CronTaskSnapshot created:
                return TypedResults.Created($"/v1/task/{created.TaskId}", View(created));
            case CronTaskRejected rejected:
                errors.Add(rejected.Field, rejected.Detail);
                return errors.Problem(Invalid);
            default:
                return SchedulerUnavailable();
        }
    }

    static async Task<Results<Ok<CronTaskView>, ValidationProblem, ProblemHttpResult>> Replace(
        string id, HttpRequest request, OutboundUrlPolicy urls, NpgsqlDataSource database, IClientFactory clients,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || !await OwnsAsync(database, taskId, request.HttpContext, cancellationToken))
            return NotFound(id);
        var body = (await JsonBody.ReadAsync(request, cancellationToken)).Fields();
        var spec = new CronRequestReader(urls).CronTask(body);
        if (!body.IsValid)
            return body.Errors.Problem(Invalid);
        switch (await Ask<ScheduleCronTask, CronTaskSnapshot, CronTaskRejected, CronTaskNotFound>(clients,
                    new ScheduleCronTask(taskId, spec, true), cancellationToken))
        {
            case CronTaskSnapshot replaced:
                return TypedResults.Ok(View(replaced));
            case CronTaskRejected rejected:
                body.Errors.Add(rejected.Field, rejected.Detail);
                return body.Errors.Problem(Invalid);
            case CronTaskNotFound:
                return NotFound(id);
            default:
                return SchedulerUnavailable();
        }
    }

    static async Task<Results<Ok<CronTaskView>, ProblemHttpResult>> Get(
        string id, HttpContext http, NpgsqlDataSource database, IClientFactory clients, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || !await OwnsAsync(database, taskId, http, cancellationToken, toRead: true))
            return NotFound(id);
        return await Ask<GetCronTask, CronTaskSnapshot, CronTaskNotFound>(clients, new GetCronTask(taskId), cancellationToken) switch
        {
            CronTaskSnapshot found => TypedResults.Ok(View(found)),
            CronTaskNotFound => NotFound(id),
            _ => SchedulerUnavailable(),
        };
    }

    static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, HttpContext http, NpgsqlDataSource database, IClientFactory clients, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId) || !await OwnsAsync(database, taskId, http, cancellationToken))
            return NotFound(id);
        return await Ask<DeleteCronTask, CronTaskDeleted, CronTaskNotFound>(clients, new DeleteCronTask(taskId), cancellationToken) switch
        {
            CronTaskDeleted => TypedResults.NoContent(),
            CronTaskNotFound => NotFound(id),
            _ => SchedulerUnavailable(),
        };
    }

    static async Task<Results<Ok<StatusReportView>, ValidationProblem, ProblemHttpResult>> ReportStatus(
        HttpRequest request, OutboundUrlPolicy urls, IClientFactory clients, TimeProvider time, CancellationToken cancellationToken)
    {
        var body = (await JsonBody.ReadAsync(request, cancellationToken)).Fields();
        var (token, status) = new CronRequestReader(urls).StatusReport(body);
        if (!body.IsValid)
            return body.Errors.Problem(Invalid);
        if (token is not { } fire)
            return FireNotFound("taskToken is not the token of any fire.");
        return await Ask<ReportCronFire, CronFireReported, CronFireNotFound>(clients, new ReportCronFire(fire, status, time.GetUtcNow()),
                cancellationToken) switch
        {
            CronFireReported reported => TypedResults.Ok(new StatusReportView(reported.Token.ToString(), reported.TaskId.ToString(), reported.Status)),
            CronFireNotFound missing => FireNotFound(missing.Detail),
            _ => SchedulerUnavailable(),
        };
    }

    static async Task<Results<Ok<CronHistoryPage>, ValidationProblem>> History(
        HttpRequest request, NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        var query = new QueryFields(request.Query, new RequestErrors());
        var taskId = query.Id("taskId");
        // 0 is open, as in the seed's client.
        const string unixSeconds = "must be unix seconds (0 = open)";
        var beginAt = query.Integer("beginAt", 0, CronRequestReader.MaxUnixSeconds, unixSeconds);
        var endAt = query.Integer("endAt", 0, CronRequestReader.MaxUnixSeconds, unixSeconds);
        // A page past what an int row offset reaches is past any history.
        var pageNum = query.Integer("pageNum", 1, int.MaxValue / MaxPageSize, "must be a page number from 1") ?? 1;
        var pageSize = query.Integer("pageSize", 1, MaxPageSize, $"must be from 1 to {MaxPageSize}") ?? 10;
        if (!query.IsValid)
            return query.Errors.Problem("The query is invalid.");
        return TypedResults.Ok(await CronHistoryReader.ReadAsync(database, taskId, beginAt is > 0 ? beginAt : null, endAt is > 0 ? endAt : null,
            (int)pageNum, (int)pageSize, Caller.Of(request.HttpContext.User).ReadFilter, cancellationToken));
    }

    /// <summary>
    /// Whether the caller may act on the task (or, <paramref name="toRead"/>, see it): an admin any (the Scheduler
    /// then says whether it exists), a monitor any to read, a key its own. Someone else's task is answered as absent.
    /// </summary>
    internal static async Task<bool> OwnsAsync(NpgsqlDataSource database, Guid taskId, HttpContext http, CancellationToken cancellationToken,
        bool toRead = false)
    {
        var caller = Caller.Of(http.User);
        if ((toRead ? caller.ReadFilter : caller.OwnerFilter) is not { } owner)
            return true;
        await using var command = database.CreateCommand("SELECT EXISTS (SELECT 1 FROM cron_tasks WHERE id = $1 AND owner = $2)");
        command.Parameters.AddWithValue(taskId);
        command.Parameters.AddWithValue(owner);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The Scheduler's answer message, or null when none came in time.</summary>
    static async Task<object?> Ask<TRequest, T1, T2>(IClientFactory clients, TRequest request, CancellationToken cancellationToken)
        where TRequest : class where T1 : class where T2 : class
    {
        try
        {
            return (await clients.CreateRequestClient<TRequest>(SchedulerTimeout).GetResponse<T1, T2>(request, cancellationToken)).Message;
        }
        catch (RequestTimeoutException)
        {
            return null;
        }
    }

    internal static async Task<object?> Ask<TRequest, T1, T2, T3>(IClientFactory clients, TRequest request, CancellationToken cancellationToken)
        where TRequest : class where T1 : class where T2 : class where T3 : class
    {
        try
        {
            return (await clients.CreateRequestClient<TRequest>(SchedulerTimeout).GetResponse<T1, T2, T3>(request, cancellationToken)).Message;
        }
        catch (RequestTimeoutException)
        {
            return null;
        }
    }

    const string Invalid = "The request is invalid.";

    internal static ProblemHttpResult NotFound(string id) => Problems.NotFound("id", "Scheduled task not found", $"No scheduled task has id '{id}'.");

    static ProblemHttpResult FireNotFound(string detail) => Problems.NotFound("taskToken", "Fire not found", detail);

    internal static ProblemHttpResult SchedulerUnavailable() =>
        TypedResults.Problem(statusCode: 503, title: "Scheduler unavailable",
            detail: $"No Scheduler answered within {SchedulerTimeout.Value.TotalSeconds} s; the change may still be applied. Check with GET before retrying.");

    internal static CronTaskView View(CronTaskSnapshot s)
    {
        var spec = s.Spec;
        return new CronTaskView(
            s.TaskId.ToString(),
            spec.Name,
            s.Kind,
            spec.Count,
            spec.Cron is { } c ? new CronJobBody(c.Second, c.Minute, c.Hour, c.Dom, c.Month, c.Dow) : null,
            s.CronExpression,
            spec.RunAt?.ToUnixTimeSeconds(),
            spec.StartAt?.ToUnixTimeSeconds() ?? 0,
            spec.StopAt?.ToUnixTimeSeconds() ?? 0,
            spec.IsMultipleEntry,
            new CallbackBody(spec.Callback.Url, spec.Callback.Method,
                spec.Callback.Params is { } text ? System.Text.Json.JsonSerializer.SerializeToElement(text) : null),
            s.State,
            s.NextFireAt?.ToUnixTimeSeconds(),
            s.FireCount,
            s.CreatedAt.ToUnixTimeSeconds(),
            s.UpdatedAt.ToUnixTimeSeconds());
    }
}
