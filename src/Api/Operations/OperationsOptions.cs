using System.ComponentModel.DataAnnotations;

namespace TaskHub.Api.Operations;

/// <summary>The <c>Operations</c> section: what the operations routes and the dashboard read beyond TaskHub's tables.</summary>
public sealed class OperationsOptions
{
    public const string Section = "Operations";

    /// <summary>A Worker whose heartbeat is older than this (and that did not say it stopped) is shown as silent.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00", ErrorMessage = "Operations:WorkerSilentAfter must be between 2 s and 1 h (was {0})")]
    public TimeSpan WorkerSilentAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the task counts of <c>/tasks/stats</c> (a scan of the whole table) are reused; the per-minute figures are always fresh.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Operations:CountsCacheFor must be between 0 and 10 min (was {0})")]
    public TimeSpan CountsCacheFor { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>RabbitMQ's management API, for queue depths and consumers; no URL: <c>/broker/queues</c> says it is not configured.</summary>
    public RabbitManagementOptions RabbitManagement { get; set; } = new();
}

public sealed class RabbitManagementOptions
{
    /// <summary>Such as <c>http://127.0.0.1:15672</c>.</summary>
    public string? Url { get; set; }
    public string User { get; set; } = "guest";
    public string Password { get; set; } = "guest";
}
