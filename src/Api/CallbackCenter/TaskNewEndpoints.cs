using MassTransit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Api.Requests;
using TaskHub.Api.Tasks;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Contracts.Outbound;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting;
using TaskHub.Hosting.Health;
using TaskHub.Hosting.Outbox;

namespace TaskHub.Api.CallbackCenter;

/// <summary><c>/task/new</c> and <c>/task/end/{id}</c>: a slow HTTP call made asynchronous and queued (seed 000, snippets 1, 2 and 6).</summary>
public static class TaskNewEndpoints
{
    public const string TaskName = "http";

    public static IEndpointRouteBuilder MapTaskNewEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/task").WithTags("Callback center").WithRequestRules(limits => limits.Default);
        group.MapPost("/new", NewTask).WithSummary("Queue a call of `callee`; its confirmed result goes to `callback`")
            .Accepts<object>("application/json").WithQuery<TaskNewQuery>().RequireScope(Scopes.Submit).WithIdempotency();
        // No key: the token in the confirm URL the callee was given is the capability.
        group.MapPost("/end/{id}", EndTask).WithSummary("The callee confirms the task: the body is its result; `token` is the one of the URL it was given")
            .Accepts<object>("application/json").WithQuery<ConfirmQuery>().AllowAnonymous();
        return app;
    }

    static async Task<Results<Ok<CenterReply>, ValidationProblem>> NewTask(
        HttpRequest request, OutboundUrlPolicy urls, ISendEndpointProvider endpoints, NpgsqlDataSource database,
        IOptions<ApiOptions> api, IServer server, ConfirmTokens tokens, TimeProvider time, CancellationToken cancellationToken)
    {
        var q = new QueryFields(request.Query, new RequestErrors());
        var callee = q.Url("callee", required: true, urls);
        var callback = q.Url("callback", required: false, urls);
        var groupName = q.Name("group");
        var parallels = q.Integer("parallels", 1, 1000);
        var timeout = q.Milliseconds("timeout", 1, int.MaxValue);
        var attempts = q.Integer("attempts", 1, 100);
        var priority = q.Integer("priority", 0, TaskSignature.MaxPriority);
        q.Require(parallels is null || groupName is not null, "parallels", "needs a group.");
        var rateText = q.Text("rate");
        RateLimit? rate = RateLimit.TryParse(rateText, out var parsed) ? parsed : null;
        q.Require(rateText is null || rate is not null, "rate", $"must be {RateLimit.Forms}.");
        q.Require(rateText is null || groupName is not null, "rate", "needs a group.");
        var payload = (await JsonBody.ReadPayloadAsync(request, q.Errors, cancellationToken)).Text;
        if (!q.IsValid)
            return q.Errors.Problem("The task was not created");

        var id = Idempotency.IdFor(request.HttpContext);
        var now = time.GetUtcNow();
        if (groupName is not null)
            await HoldPlaceInGroup(database, id, groupName, now, cancellationToken);
        var completion = tokens.CompletionUrl(api.Value.BaseUrl(server), id);
        try
        {
            await api.Value.WithinBrokerTimeout(deadline => endpoints.SubmitTaskAsync(new SubmitTask(id, new TaskSignature(TaskName, []) { Priority = (int)(priority ?? 0) }, null,
                new TaskPolicy(Attempts: (int?)attempts, TimeoutMs: (int?)timeout), now,
                new HttpTask(callee!, callback, payload, completion), groupName, (int?)parallels, Caller.Of(request.HttpContext.User).Owner,
                    rate?.ToString()),
                deadline), cancellationToken);
        }
        catch (Exception) when (groupName is not null)
        {
            // Not taken (the caller gets 503): the place must not hold the group's line until it is abandoned.
            await GiveUpPlaceInGroup(database, id);
            throw;
        }
        return TypedResults.Ok(new CenterReply(true, id.ToString()));
    }

    /// <summary>The group's order is the order the Api accepted its tasks in, fixed here before the submission travels.</summary>
    static async Task HoldPlaceInGroup(NpgsqlDataSource database, Guid id, string group, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "INSERT INTO group_members (task_id, group_name, submitted_at) VALUES ($1, $2, $3) ON CONFLICT (task_id) DO NOTHING");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(group);
        command.Parameters.AddWithValue(now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static async Task GiveUpPlaceInGroup(NpgsqlDataSource database, Guid id)
    {
        try
        {
            await using var command = database.CreateCommand("DELETE FROM group_members WHERE task_id = $1 AND NOT ready");
            command.Parameters.AddWithValue(id);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The database is away too: the gate steps over the place once it is abandoned.
        }
    }

    static readonly Guid ConfirmNamespace = new("3a9d6e21-4c7b-4f08-b5e2-6d1f0a8c9e37");

    /// <summary>One outbox row per task's confirmation, however often the callee sends it.</summary>
    static Guid ConfirmId(Guid taskId) => NameBasedIds.From(ConfirmNamespace, taskId.ToString("N"));

    static async Task<Results<Ok<CenterReply>, ValidationProblem, ProblemHttpResult>> EndTask(
        string id, HttpRequest request, TaskReader tasks, ConfirmTokens tokens, IPublishEndpoint publish, IOptions<ApiOptions> api,
        OutboxTable outbox, BrokerSends sends, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var taskId))
            return TaskReader.NotFound(id);
        // A wrong or missing token is answered before any lookup, as an unknown task: it tells nothing about the id.
        if (!tokens.Confirms(taskId, request.Query[ConfirmTokens.QueryName]))
            return TypedResults.Problem(Problems.Details(StatusCodes.Status404NotFound, ["id", ConfirmTokens.QueryName], "Task not found",
                $"No task '{id}' is confirmed with this token: confirm at the URL the task's callee was given."));
        if (await tasks.FindAsync(taskId, null, cancellationToken) is not { } task)
            return TaskReader.NotFound(id);
        var body = await JsonBody.ReadPayloadAsync(request, new RequestErrors(), cancellationToken);
        if (!body.Errors.IsValid)
            return body.Errors.Problem("The result was not accepted");
        var result = body.Text;
        if (!TaskStatuses.IsFinished(task.Status))
        {
            var succeeded = new TaskSucceeded(taskId, 0, result, time.GetUtcNow());
            try
            {
                await api.Value.WithinBrokerTimeout(deadline => publish.Publish(succeeded, deadline), cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested || TransientFaults.IsTransient(ex))
            {
                // The broker did not take it in time (away, or this process's link to it stuck): the outbox keeps it,
                // and a Scheduler's relay sends it within its poll interval. Taken either way, so the callee need not retry.
                if (ex is OperationCanceledException)
                    sends.TimedOut(typeof(TaskSucceeded));
                await outbox.InsertDueAsync(OutboxMessage.Publish(succeeded, typeof(TaskSucceeded)) with { Id = ConfirmId(taskId) }, time.GetUtcNow(),
                    cancellationToken);
            }
        }
        return TypedResults.Ok(new CenterReply(true, TaskStatuses.IsFinished(task.Status) ? "already finished" : null));
    }
}
