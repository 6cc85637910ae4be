using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using TaskHub.Api.Requests;

namespace TaskHub.Api.PullQueue;

/// <summary>A pull-queue request names the queues it touches, so a key limited to some (Auth:Keys:n:Queues) is held to them.</summary>
public interface IQueueRequest
{
    IEnumerable<string> QueuesUsed { get; }
}

// The bodies of the /task/<op> routes, field names as seed 004 spells them. Each is read by its
// Read method (see JsonFields); the records also describe the bodies in the OpenAPI document.

/// <summary><c>config</c> of a put or call. A call's result goes back to its caller, and to <c>forward_result_to</c> only when it names one.</summary>
[RequestShape]
public sealed record TaskConfig(
    [property: JsonPropertyName("forward_result_to")] string? ForwardResultTo,
    [property: JsonPropertyName("cache_result_time")] double? CacheResultTime)
{
    public static TaskConfig Read(JsonFields config, string queue, PullQueueOptions options)
    {
        var forwardTo = config.OptionalName("forward_result_to");
        // A result forwarded into the task's own queue would collide with the task's own id there.
        config.Require(forwardTo != queue, "forward_result_to", "must name a queue other than 'queue'.");
        return new(forwardTo, config.Seconds("cache_result_time", options.MaxCacheResultTime, positive: true));
    }
}

[RequestShape]
public sealed record PutRequest([property: Required] string Queue, [property: Required] string Id, JsonElement Info, byte[] Content, TaskConfig Config)
    : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => [Queue, ResultQueue];

    public const string ResultSuffix = "-result";

    /// <summary>Where the reply's result goes: <c>forward_result_to</c>, else <c>{queue}-result</c>.</summary>
    [JsonIgnore]
    public string ResultQueue => Config.ForwardResultTo ?? Queue + ResultSuffix;

    public static PutRequest Read(JsonFields body, PullQueueOptions options)
    {
        var queue = body.Name("queue");
        var request = new PutRequest(queue, body.Name("id"), body.Json("info"), body.Base64("content"),
            TaskConfig.Read(body.Object("config"), queue, options));
        body.Require(request.ResultQueue.Length <= JsonFields.MaxNameLength, "queue",
            $"leaves no room for its result queue's name '{{queue}}{ResultSuffix}' (at most {JsonFields.MaxNameLength} characters).");
        return request;
    }
}

[RequestShape]
public sealed record PeekRequest([property: Required] string Queue, int Size, double Timeout, string? Cursor) : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => [Queue];

    /// <summary>The sequence number peeking starts after; 0 is the start of the queue.</summary>
    [JsonIgnore]
    public long After => Cursor is null ? 0 : long.Parse(Cursor, CultureInfo.InvariantCulture);

    public static PeekRequest Read(JsonFields body, PullQueueOptions options) => new(
        body.Name("queue"), body.Int32("size", 1, 1, options.MaxSize), body.Seconds("timeout", 0, options.MaxTimeout),
        body.Cursor("cursor"));
}

[RequestShape]
public sealed record AcquireRequest(
    [property: Required] string Queue,
    [property: Required] IReadOnlyList<string> Ids,
    [property: JsonPropertyName("promise_reply_time")] double PromiseReplyTime) : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => [Queue];

    public static AcquireRequest Read(JsonFields body, PullQueueOptions options) => new(
        body.Name("queue"), body.Names("ids", options.MaxSize, allowEmpty: true),
        body.Seconds("promise_reply_time", options.DefaultPromiseReplyTime, options.MaxPromiseReplyTime, positive: true));
}

/// <summary><c>lease</c> is optional: the number an acquire returned, so that a late reply is refused even after someone else acquired the task.</summary>
[RequestShape]
public sealed record ReplyRequest([property: Required] string Queue, [property: Required] string Id, JsonElement Info, byte[] Content, int? Lease)
    : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => [Queue];

    public static ReplyRequest Read(JsonFields body, PullQueueOptions options) => new(
        body.Name("queue"), body.Name("id"), body.Json("info"), body.Base64("content"), (int?)body.Integer("lease", 1, int.MaxValue));
}

[RequestShape]
public sealed record CallRequest(
    [property: Required] string Queue, [property: Required] string Id, JsonElement Info, byte[] Content, TaskConfig Config, double Timeout)
    : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => Config.ForwardResultTo is { } to ? [Queue, to] : [Queue];

    public static CallRequest Read(JsonFields body, PullQueueOptions options)
    {
        var queue = body.Name("queue");
        return new(queue, body.Name("id"), body.Json("info"), body.Base64("content"), TaskConfig.Read(body.Object("config"), queue, options),
            body.Seconds("timeout", options.DefaultCallTimeout, options.MaxTimeout));
    }
}

/// <summary>Body of <c>remove</c> and <c>status</c>.</summary>
[RequestShape]
public sealed record TaskKeyRequest([property: Required] string Queue, [property: Required] string Id) : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => [Queue];

    public static TaskKeyRequest Read(JsonFields body, PullQueueOptions options) => new(body.Name("queue"), body.Name("id"));
}

/// <summary>Body of <c>clear_queue</c> and <c>stat_queue</c>.</summary>
[RequestShape]
public sealed record QueueRequest([property: Required] string Queue) : IQueueRequest
{
    [JsonIgnore]
    public IEnumerable<string> QueuesUsed => [Queue];

    public static QueueRequest Read(JsonFields body, PullQueueOptions options) => new(body.Name("queue"));
}

/// <summary>
/// Body of <c>list_queue</c>, all optional (<c>{}</c> or no body lists from the start): <c>cursor</c> is
/// the <c>cursor</c> of an earlier answer, <c>count</c> how many names at most.
/// </summary>
[RequestShape]
public sealed record ListQueuesRequest(string? Cursor, int Count)
{
    public const int DefaultCount = 1000;
    public const int MaxCount = 10_000;

    public static ListQueuesRequest Read(JsonFields body, PullQueueOptions options) =>
        new(body.OptionalName("cursor"), body.Int32("count", DefaultCount, 1, MaxCount));
}
