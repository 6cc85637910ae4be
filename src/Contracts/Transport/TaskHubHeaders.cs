namespace TaskHub.Contracts.Transport;

/// <summary>Headers TaskHub's own processes set on bus messages.</summary>
public static class TaskHubHeaders
{
    /// <summary>
    /// Set on a message the outbox relay sends again because its first send was not known to have gone
    /// (a Scheduler died, or the broker was down): a consumer that must not run work twice checks it, as it
    /// checks a broker redelivery.
    /// </summary>
    public const string Resent = "TaskHub-Resent";
}
