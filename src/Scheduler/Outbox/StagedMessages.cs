using TaskHub.Hosting.Outbox;
namespace TaskHub.Scheduler.Outbox;

/// <summary>
/// What one consumed message sends and publishes, held back until its state change is written. The
/// saga repository writes them in the state's own statement and marks them <see cref="Written"/>;
/// the <see cref="OutboxFilter{T}"/> then hands them to the relay.
/// </summary>
public sealed class StagedMessages
{
    readonly List<OutboxMessage> messages = [];
    readonly List<Action> afterCommit = [];
    readonly Lock gate = new();

    public IReadOnlyList<OutboxMessage> Messages
    {
        get { lock (gate) return [.. messages]; }
    }

    /// <summary>True once a state write committed them with it.</summary>
    public bool Written { get; private set; }

    public void Add(OutboxMessage message)
    {
        lock (gate)
        {
            if (Written)
                throw new InvalidOperationException("a message was staged after the state it follows was written");
            messages.Add(message);
        }
    }

    public void MarkWritten() => Written = true;

    /// <summary>
    /// Runs <paramref name="action"/> once the message's state change is committed: what must count a
    /// transition once (a metric), not once per attempt of a message retried after a concurrency conflict.
    /// </summary>
    public void AfterCommit(Action action)
    {
        lock (gate)
            afterCommit.Add(action);
    }

    public void RunAfterCommit()
    {
        Action[] actions;
        lock (gate)
            actions = [.. afterCommit];
        foreach (var action in actions)
            action();
    }
}
