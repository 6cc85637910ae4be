using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace TaskHub.Hosting.Telemetry;

/// <summary>
/// TaskHub's own span source and meter name, and the <c>Telemetry:Enabled</c> switch. The OpenTelemetry set-up of
/// TaskHub's processes, <c>AddTaskHubTelemetry</c>, is src/Hosting.AspNetCore's <c>TaskHubTelemetryRegistration</c>.
/// </summary>
public static class TaskHubTelemetry
{
    /// <summary>TaskHub's own spans (a timer's fire, a callback delivery) and its meter.</summary>
    public const string Name = "TaskHub";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>
    /// A link to the span running now, for a span that belongs to an earlier trace (a submission's, a
    /// schedule's) than the message that set it off; none when nothing runs.
    /// </summary>
    public static ActivityLink[]? LinkToCurrent() => Activity.Current is { } running ? [new ActivityLink(running.Context)] : null;

    public static bool IsEnabled(IConfiguration configuration) => configuration.GetValue("Telemetry:Enabled", true);
}
