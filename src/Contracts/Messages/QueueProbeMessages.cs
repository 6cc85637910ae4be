namespace TaskHub.Contracts.Messages;

/// <summary>A Worker's health check asks whoever consumes a task queue to answer (gobay's asynctask check, seed 002).</summary>
public sealed record ProbeQueue(Guid ProbeId);

/// <summary>The answer: which Worker process took the probe off the queue.</summary>
public sealed record QueueProbed(Guid ProbeId, string Host, int ProcessId);
