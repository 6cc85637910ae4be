using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using TaskHub.Api.Requests;

namespace TaskHub.Api.CallbackCenter;

/// <summary>The seed's answer shape: <c>{"ok": true, "data": ...}</c>.</summary>
public sealed record CenterReply(bool Ok, object? Data);

/// <summary>The query of <c>POST /task/new</c>; the body is the callee's payload (any JSON, <c>{}</c> when empty).</summary>
[RequestShape]
public sealed record TaskNewQuery(
    [property: Required, Description("The URL called with the body; it confirms at the URL in its `callback` query parameter")] string Callee,
    [property: Description("Where the confirmed result is POSTed")] string? Callback,
    [property: Description("A concurrency group: its tasks run in submission order")] string? Group,
    [property: Description("How many of the group's tasks run at once (1-1000, default 1)")] int? Parallels,
    [property: Description("How often the group's tasks may start, cluster-wide: a count per s, min or h (`20/s`, `600/min`); Groups:RateLimits overrides it")] string? Rate,
    [property: Description("Milliseconds an attempt may take before it counts as failed")] long? Timeout,
    [property: Description("Attempts before the task fails (1-100)")] int? Attempts,
    [property: Description("The task's priority (0-9, default 0): a higher one is called before lower ones waiting in the queue")] int? Priority);

/// <summary>The query of <c>POST /task/end/{id}</c>: the confirm URL handed to the callee carries it.</summary>
[RequestShape]
public sealed record ConfirmQuery([property: Required, Description("The task's confirm token, from the URL its callee was given")] string Token);

/// <summary>The query of <c>POST /callback/new</c>: at most one of setTimeout, setInterval and key/window.</summary>
[RequestShape]
public sealed record CallbackNewQuery(
    [property: Required, Description("Where the body (or the callee's answer) is POSTed")] string Callback,
    [property: Description("Called first; its answer is what is delivered")] string? Callee,
    [property: Description("Deliver once, after this many milliseconds")] long? SetTimeout,
    [property: Description("Deliver every this many milliseconds until cancelled or count is reached")] long? SetInterval,
    [property: Description("With setInterval: deliver at most this many times")] int? Count,
    [property: Description("A debounce key: requests within window milliseconds deliver the last body once")] string? Key,
    [property: Description("The debounce window in milliseconds")] long? Window,
    [property: Description("Not with key: for this many seconds (1 to 86400) the same request (callee, callback, body and schedule) returns this callback's id and creates nothing")] int? Dedupe);
