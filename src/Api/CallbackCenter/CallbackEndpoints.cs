using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskHub.Api.Auth;
using TaskHub.Api.Requests;
using TaskHub.Api.Tasks;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Outbound;
using TaskHub.Hosting.Deduplication;

namespace TaskHub.Api.CallbackCenter;

/// <summary>
/// <c>/callback/new</c>: call <c>callback</c> now, after <c>setTimeout</c> ms, every
/// <c>setInterval</c> ms, or once per <c>window</c> ms for a debounce <c>key</c> (seed 000, snippets 2–5).
/// </summary>
public static class CallbackEndpoints
{
    public static IEndpointRouteBuilder MapCallbackEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/callback").WithTags("Callback center").WithRequestRules(limits => limits.Default);
        group.MapPost("/new", NewCallback).WithSummary("Deliver the body (or `callee`'s answer) to `callback`: now, later, repeatedly or debounced")
            .Accepts<object>("application/json").WithQuery<CallbackNewQuery>().RequireScope(Scopes.Submit).WithIdempotency();
        group.MapGet("/{id}", GetCallback).WithSummary("A callback's state and its fires").RequireScope(Scopes.Read);
        group.MapDelete("/{id}", CancelCallback).WithSummary("Stop a callback (an interval stops firing)").RequireScope(Scopes.Manage);
        return app;
    }

    static async Task<Results<Ok<CenterReply>, ValidationProblem>> NewCallback(
        HttpRequest request, OutboundUrlPolicy urls, IPublishEndpoint publish, NpgsqlDataSource database, IOptions<ApiOptions> api,
        ILoggerFactory loggers, TimeProvider time, CancellationToken cancellationToken)
    {
        var q = new QueryFields(request.Query, new RequestErrors());
        var callee = q.Url("callee", required: false, urls);
        var callback = q.Url("callback", required: true, urls);
        var delay = q.Milliseconds("setTimeout", 0);
        var interval = q.Milliseconds("setInterval", 1);
        var count = q.Integer("count", 1, int.MaxValue);
        var key = q.Name("key");
        var window = q.Milliseconds("window", 1);
        var dedupe = q.Integer("dedupe", 1, (long)SubmitTaskOnce.LongestWindow.TotalSeconds);
        q.Require(window is null || key is not null, "key", "is required with window.");
        q.Require(key is null || window is not null || !q.IsValid, "window", "is required with key.");
        q.Require(new object?[] { delay, interval, key }.Count(v => v is not null) <= 1, "setTimeout",
            "setTimeout, setInterval and key/window are alternatives: give one of them.");
        q.Require(count is null || interval is not null, "count", "applies to setInterval only.");
        q.Require(dedupe is null || key is null, "dedupe", "does not apply with key: a debounce window already merges repeats.");
        var body = (await JsonBody.ReadPayloadAsync(request, q.Errors, cancellationToken)).Text;
        if (!q.IsValid)
            return q.Errors.Problem("The callback was not created");

        var owner = Caller.Of(request.HttpContext.User).Owner;
        var mode = key is not null ? "debounce" : interval is not null ? "interval" : delay is not null ? "timeout" : "now";
        var now = time.GetUtcNow();
        var dueAt = now.AddMilliseconds(delay ?? window ?? interval ?? 0); // due times count from when the request was accepted
        var id = Idempotency.IdFor(request.HttpContext);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // Only a deduplicated request needs its claim and its row in one transaction.
        await using var transaction = dedupe is null ? null : await connection.BeginTransactionAsync(cancellationToken);
        if (dedupe is not null)
        {
            // The same request from the same owner: the schedule counts as much as what is delivered where.
            var fingerprint = DeduplicationWindow.Fingerprint(mode, callee, callback, body, delay?.ToString(), interval?.ToString(), count?.ToString());
            var (holder, claimed) = await DeduplicationWindow.ClaimAsync(connection, transaction!, $"callback\n{owner}", fingerprint, id, now,
                TimeSpan.FromSeconds(dedupe.Value), cancellationToken);
            if (!claimed)
                return TypedResults.Ok(new CenterReply(true, holder.ToString()));
        }
        await using var command = new NpgsqlCommand("""
            INSERT INTO callbacks (id, callee, callback, body, mode, delay_ms, interval_ms, max_count, debounce_key, created_at, updated_at, next_due_at,
                                   owner, trace_parent)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)
            ON CONFLICT (debounce_key) WHERE mode = 'debounce' AND state = 'active'
                DO UPDATE SET body = EXCLUDED.body, callee = EXCLUDED.callee, callback = EXCLUDED.callback, updated_at = EXCLUDED.updated_at
            RETURNING id, xmax = 0
            """, connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue((object?)callee ?? DBNull.Value);
        command.Parameters.AddWithValue(callback!);
        command.Parameters.AddWithValue(body);
        command.Parameters.AddWithValue(mode);
        command.Parameters.AddWithValue((object?)(delay ?? window) ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)interval ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)count ?? DBNull.Value);
        // A debounce key is its owner's: two keys' "k1" are two windows ('\n' never is in a name or a key).
        command.Parameters.AddWithValue((object?)(key is null ? null : owner is null ? key : $"{owner}\n{key}") ?? DBNull.Value);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(dueAt);
        command.Parameters.Add(TaskReader.TextParameter(owner));
        // The request's trace: every fire of the callback is delivered in it.
        command.Parameters.Add(TaskReader.TextParameter(System.Diagnostics.Activity.Current?.Id));
        Guid rowId;
        bool created;
        try
        {
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                (rowId, created) = (reader.GetGuid(0), reader.GetBoolean(1));
            }
            if (transaction is not null)
                await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "callbacks_pkey" })
        {
            // The repeat of a keyed request whose first Api died before keeping its answer: the callback is there.
            return TypedResults.Ok(new CenterReply(true, id.ToString()));
        }
        // A request within an open debounce window only replaces the body the window will deliver.
        if (created)
            await ArmAsync(publish, new ArmCallback(rowId, dueAt), api.Value, loggers, cancellationToken);
        return TypedResults.Ok(new CenterReply(true, rowId.ToString()));
    }

    /// <summary>
    /// Takes the new callback's first fire into a Scheduler's memory at once. Only a shortcut: the row is
    /// the timer and is committed, so with the broker away the answer is still 200 and a poll takes it.
    /// </summary>
    static async Task ArmAsync(IPublishEndpoint publish, ArmCallback arm, ApiOptions api, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        try
        {
            await api.WithinBrokerTimeout(deadline => publish.Publish(arm, deadline), cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(CallbackEndpoints)).LogWarning("Callback {Id} is recorded but not armed ({Error}); a timer poll takes it",
                arm.CallbackId, ex.Message);
        }
    }

    static async Task<Results<Ok<CallbackView>, ProblemHttpResult>> GetCallback(
        string id, HttpContext http, NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var callbackId)
            || await CallbackView.FindAsync(database, callbackId, Caller.Of(http.User).OwnerFilter, cancellationToken) is not { } view)
            return NotFound(id);
        return TypedResults.Ok(view);
    }

    static async Task<Results<Ok<CenterReply>, ProblemHttpResult>> CancelCallback(
        string id, HttpContext http, NpgsqlDataSource database, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var callbackId))
            return NotFound(id);
        await using var command = database.CreateCommand("""
            UPDATE callbacks SET state = CASE WHEN state = 'active' THEN 'cancelled' ELSE state END, updated_at = $2
            WHERE id = $1 AND ($3::text IS NULL OR owner = $3) RETURNING state
            """);
        command.Parameters.AddWithValue(callbackId);
        command.Parameters.AddWithValue(time.GetUtcNow());
        command.Parameters.Add(TaskReader.TextParameter(Caller.Of(http.User).OwnerFilter));
        if (await command.ExecuteScalarAsync(cancellationToken) is not string state)
            return NotFound(id);
        return TypedResults.Ok(new CenterReply(true, state));
    }

    static ProblemHttpResult NotFound(string id) => Problems.NotFound("id", "Callback not found", $"No callback '{id}'.");
}
