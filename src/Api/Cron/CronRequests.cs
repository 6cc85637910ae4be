using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using TaskHub.Api.Requests;

namespace TaskHub.Api.Cron;

// The request and response bodies of /v1/task, as OpenAPI shows them. Requests are read field by
// field (CronRequestReader) so a bad one is answered naming its field; these records describe them.

/// <summary>Classic cron fields with seconds: <c>*</c>, lists, ranges, steps; month 1-12 or JAN-DEC; dow 0-6 (0 = Sunday) or SUN-SAT.</summary>
[RequestShape]
public sealed record CronJobBody([property: Required] string Second, [property: Required] string Minute, [property: Required] string Hour,
    [property: Required] string Dom, [property: Required] string Month, [property: Required] string Dow);

/// <summary>
/// <c>method</c>: GET, POST, PUT, PATCH or DELETE (default POST); <c>params</c>: the body sent, as JSON text
/// (as the seed sends it) or a JSON object or array; shown as JSON text.
/// </summary>
[RequestShape]
public sealed record CallbackBody([property: Required] string Url, string? Method, JsonElement? Params);

/// <summary>
/// <c>POST /v1/task</c> and <c>PUT /v1/task/{id}</c>. <c>count</c>: fires at most this many times (0 = unlimited).
/// <c>startAt</c>/<c>stopAt</c>: unix seconds bounding the fire times, both inclusive (0 = open).
/// <c>isMultipleEntry: false</c> skips a fire while the previous one is unreported.
/// </summary>
[RequestShape]
public sealed record CronTaskBody(
    [property: Required] string Name,
    int? Count,
    [property: Required] CronJobBody CronJob,
    long? StartAt,
    long? StopAt,
    bool? IsMultipleEntry,
    [property: Required] CallbackBody Callback);

/// <summary><c>POST /v1/task/quick</c>: once at unix second <c>time</c> (a string or a number); a past time fires now.</summary>
[RequestShape]
public sealed record QuickTaskBody([property: Required] string Name, [property: Required] long Time, [property: Required] CallbackBody Callback);

/// <summary><c>status</c>: SUCCESS or FAILED.</summary>
[RequestShape]
public sealed record TaskResultBody([property: Required] string Status);

/// <summary><c>POST /v1/task/status</c>: the result of the fire whose <c>X-TaskHub-Token</c> was <c>taskToken</c>.</summary>
[RequestShape]
public sealed record StatusReportBody([property: Required] string TaskToken, [property: Required] TaskResultBody TaskResult);

/// <summary>The query of <c>GET /v1/task/history</c>: times are unix seconds, both inclusive, 0 = open; pages count from 1.</summary>
public sealed record HistoryQuery(Guid? TaskId, long? BeginAt, long? EndAt, int? PageNum, int? PageSize);

/// <summary>
/// A scheduled task. Times are unix seconds. <c>kind</c>: cron or quick; <c>state</c>: ACTIVE or
/// COMPLETED (fired <c>count</c> times, or no fire time left); <c>fireCount</c>: fires of the
/// current definition (a PUT starts it over); <c>nextFireTime</c>: null when it will not fire again.
/// </summary>
public sealed record CronTaskView(
    string Id,
    string Name,
    string Kind,
    int Count,
    CronJobBody? CronJob,
    string? CronExpression,
    long? Time,
    long StartAt,
    long StopAt,
    bool IsMultipleEntry,
    CallbackBody Callback,
    string State,
    long? NextFireTime,
    int FireCount,
    long CreatedAt,
    long UpdatedAt);

public sealed record StatusReportView(string Token, string TaskId, string Status);

/// <summary>One delivery attempt: the HTTP status, or the error that prevented one.</summary>
public sealed record CronAttemptView(int Attempt, long At, int? HttpStatus, string? Error);

/// <summary>
/// One fire. <c>status</c>: RUNNING (delivering, or delivered and not reported), SUCCESS or FAILED
/// (reported by the receiver; FAILED also when every attempt failed), SKIPPED (the previous fire
/// was still running). <c>httpStatus</c>/<c>error</c> are the last attempt's.
/// </summary>
public sealed record CronFireView(
    string Token,
    string TaskId,
    long FiredAt,
    long ScheduledAt,
    string Status,
    int? HttpStatus,
    string? Error,
    long? ReportedAt,
    IReadOnlyList<CronAttemptView> Attempts);

/// <summary>A page of fires, newest first.</summary>
public sealed record CronHistoryPage(long Total, int PageNum, int PageSize, IReadOnlyList<CronFireView> Items);
