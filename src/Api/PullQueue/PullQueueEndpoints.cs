using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TaskHub.Api.Auth;
using TaskHub.Api.Requests;
using TaskHub.Hosting.Telemetry;

namespace TaskHub.Api.PullQueue;

/// <summary>
/// Seed 004's pull queue: <c>POST /task/&lt;op&gt;</c> with a JSON body, answered HTTP 200
/// <c>{"err_code": "0000", "data": ...}</c>; a malformed body is a 400 naming its fields.
/// </summary>
public static class PullQueueEndpoints
{
    public static IEndpointRouteBuilder MapPullQueueEndpoints(this IEndpointRouteBuilder app)
    {
        var task = app.MapGroup("/task").WithTags("Pull queue").WithRequestRules(limits => limits.PullQueue);
        task.MapPost("/put", Put).Accepts<PutRequest>("application/json")
            .WithSummary("Adds a task to a queue; data is false when the id is already there").RequireScope(Scopes.Submit);
        task.MapPost("/peek", Peek).Accepts<PeekRequest>("application/json")
            .WithSummary("The next waiting tasks after a cursor, without content; waits up to timeout seconds for one").RequireScope(Scopes.Submit);
        task.MapPost("/acquire", Acquire).Accepts<AcquireRequest>("application/json")
            .WithSummary("Leases those of the ids still waiting, for promise_reply_time seconds").RequireScope(Scopes.Submit);
        task.MapPost("/reply", Reply).Accepts<ReplyRequest>("application/json")
            .WithSummary("Answers an acquired task (or acknowledges a result); false when unknown or its lease ran out").RequireScope(Scopes.Submit);
        task.MapPost("/call", Call).Accepts<CallRequest>("application/json")
            .WithSummary("Puts a task and waits for its reply; a cached result answers at once; err_code 0001 on timeout").RequireScope(Scopes.Submit);
        task.MapPost("/remove", Remove).Accepts<TaskKeyRequest>("application/json")
            .WithSummary("Deletes a task or result; false when it was not there").RequireScope(Scopes.Manage);
        task.MapPost("/clear_queue", ClearQueue).Accepts<QueueRequest>("application/json")
            .WithSummary("Deletes everything a queue holds; data is how many tasks and results were deleted").RequireScope(Scopes.Manage);
        task.MapPost("/list_queue", ListQueues).Accepts<ListQueuesRequest>("application/json")
            .WithSummary("Names of the queues that hold a task or a cached result, in order; cursor continues the list, null at its end").RequireScope(Scopes.Read);
        task.MapPost("/stat_queue", StatQueue).Accepts<QueueRequest>("application/json")
            .WithSummary("A queue's length, acquired tasks, cached results and cursor range").RequireScope(Scopes.Read);
        task.MapPost("/status", Status).Accepts<TaskKeyRequest>("application/json")
            .WithSummary("One task in the system's status words (WAITING, RUNNING, SUCCESS); data is null when unknown").RequireScope(Scopes.Read);
        return app;
    }

    static Task<Results<Ok<PullReply<bool>>, ValidationProblem, ProblemHttpResult>> Put(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, TaskHubMetrics metrics, CancellationToken cancellationToken) =>
        Serve(http, options, PutRequest.Read, async r =>
        {
            var added = await store.PutAsync(r.Queue, r.Id, r.Info, r.Content, r.ResultQueue,
                r.Config.CacheResultTime ?? options.Value.DefaultCacheResultTime, cancellationToken);
            if (added)
                metrics.PullQueue("put");
            return PullReply.Ok(added);
        }, cancellationToken);

    static Task<Results<Ok<PeekReply>, ValidationProblem, ProblemHttpResult>> Peek(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, LongPoll longPoll, CancellationToken cancellationToken) =>
        Serve(http, options, PeekRequest.Read, async r =>
        {
            var peeked = await longPoll.UntilAsync("peek", QueueSignals.PutKey(r.Queue), TimeSpan.FromSeconds(r.Timeout),
                c => store.PeekAsync(r.Queue, r.After, r.Size, c), p => p.Count > 0, cancellationToken);
            var cursor = peeked.Count > 0 ? PullQueueStore.Cursor(peeked[^1].Seq) : r.Cursor;
            return new PeekReply(ErrCodes.Ok, peeked.Select(p => p.Task).ToList(), cursor);
        }, cancellationToken);

    static Task<Results<Ok<PullReply<IReadOnlyList<AcquiredTask>>>, ValidationProblem, ProblemHttpResult>> Acquire(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, TaskHubMetrics metrics, CancellationToken cancellationToken) =>
        Serve(http, options, AcquireRequest.Read, async r =>
        {
            var acquired = await store.AcquireAsync(r.Queue, r.Ids, TimeSpan.FromSeconds(r.PromiseReplyTime), cancellationToken);
            metrics.PullQueue("acquire", acquired.Count);
            return PullReply.Ok(acquired);
        }, cancellationToken);

    static Task<Results<Ok<PullReply<bool>>, ValidationProblem, ProblemHttpResult>> Reply(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, TaskHubMetrics metrics, CancellationToken cancellationToken) =>
        Serve(http, options, ReplyRequest.Read, async r =>
        {
            var replied = await store.ReplyAsync(r.Queue, r.Id, r.Info, r.Content, r.Lease, cancellationToken);
            if (replied)
                metrics.PullQueue("reply");
            return PullReply.Ok(replied);
        }, cancellationToken);

    /// <summary>
    /// A cached result answers at once. Otherwise the task is put (unless its id is already there) and
    /// the call waits for its reply, which any instance may receive. Many calls for one id share one task.
    /// </summary>
    static Task<Results<Ok<PullReply<IReadOnlyList<CallResult>>>, ValidationProblem, ProblemHttpResult>> Call(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, LongPoll longPoll, CancellationToken cancellationToken) =>
        Serve(http, options, CallRequest.Read, async r =>
        {
            var result = await store.FindResultAsync(r.Queue, r.Id, includeExpired: false, cancellationToken);
            if (result is null)
            {
                await store.PutAsync(r.Queue, r.Id, r.Info, r.Content, r.Config.ForwardResultTo,
                    r.Config.CacheResultTime ?? options.Value.DefaultCacheResultTime, cancellationToken);
                // The put replaced any expired result, so whatever result appears now answers this call.
                result = await longPoll.UntilAsync("call", QueueSignals.ReplyKey(r.Queue, r.Id), TimeSpan.FromSeconds(r.Timeout),
                    c => store.FindResultAsync(r.Queue, r.Id, includeExpired: true, c), found => found is not null, cancellationToken);
            }
            return result is null
                ? new PullReply<IReadOnlyList<CallResult>>(ErrCodes.Timeout, [])
                : PullReply.Ok<IReadOnlyList<CallResult>>([result]);
        }, cancellationToken);

    static Task<Results<Ok<PullReply<bool>>, ValidationProblem, ProblemHttpResult>> Remove(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, CancellationToken cancellationToken) =>
        Serve(http, options, TaskKeyRequest.Read, async r => PullReply.Ok(await store.RemoveAsync(r.Queue, r.Id, cancellationToken)), cancellationToken);

    static Task<Results<Ok<PullReply<long>>, ValidationProblem, ProblemHttpResult>> ClearQueue(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, CancellationToken cancellationToken) =>
        Serve(http, options, QueueRequest.Read, async r => PullReply.Ok(await store.ClearAsync(r.Queue, cancellationToken)), cancellationToken);

    static Task<Results<Ok<QueueList>, ValidationProblem, ProblemHttpResult>> ListQueues(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, CancellationToken cancellationToken) =>
        Serve(http, options, ListQueuesRequest.Read, async r =>
        {
            var names = await store.ListQueuesAsync(r.Cursor, r.Count, cancellationToken);
            // The cursor follows the names read, so a key limited to some queues still pages through all of them.
            var cursor = names.Count == r.Count ? names[^1] : null;
            var caller = Caller.Of(http.HttpContext.User);
            return new QueueList(ErrCodes.Ok, names.Where(caller.MayUseQueue).ToList(), cursor);
        }, cancellationToken);

    static Task<Results<Ok<PullReply<QueueStat>>, ValidationProblem, ProblemHttpResult>> StatQueue(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, CancellationToken cancellationToken) =>
        Serve(http, options, QueueRequest.Read, async r => PullReply.Ok(await store.StatAsync(r.Queue, cancellationToken)), cancellationToken);

    static Task<Results<Ok<PullReply<QueueTaskStatus?>>, ValidationProblem, ProblemHttpResult>> Status(
        HttpRequest http, IOptions<PullQueueOptions> options, PullQueueStore store, CancellationToken cancellationToken) =>
        Serve(http, options, TaskKeyRequest.Read, async r => PullReply.Ok(await store.StatusAsync(r.Queue, r.Id, cancellationToken)), cancellationToken);

    /// <summary>Reads and checks the body, and the key's queues; only a request without a bad field reaches <paramref name="serve"/>.</summary>
    static async Task<Results<Ok<TReply>, ValidationProblem, ProblemHttpResult>> Serve<TRequest, TReply>(HttpRequest http,
        IOptions<PullQueueOptions> options, Func<JsonFields, PullQueueOptions, TRequest> read, Func<TRequest, Task<TReply>> serve,
        CancellationToken cancellationToken)
    {
        var body = (await JsonBody.ReadAsync(http, cancellationToken)).Fields();
        var request = read(body, options.Value);
        if (!body.IsValid)
            return body.Errors.Problem("The request is malformed.");
        var caller = Caller.Of(http.HttpContext.User);
        if (request is IQueueRequest queues && queues.QueuesUsed.FirstOrDefault(q => !caller.MayUseQueue(q)) is { } refused)
            return Problems.Of(StatusCodes.Status403Forbidden, "queue", "The API key may not use this queue",
                $"'{refused}' matches none of the key's queue patterns (Auth:Keys:n:Queues).");
        return TypedResults.Ok(await serve(request));
    }
}
