using MassTransit;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Transport;
using TaskHub.Hosting.Health;

namespace TaskHub.Worker.Health;

/// <summary>Answers a probe from the queue it came in on: proof that a Worker consumes that queue now.</summary>
public sealed class QueueProbeConsumer : IConsumer<ProbeQueue>
{
    public Task Consume(ConsumeContext<ProbeQueue> context) =>
        context.RespondAsync(new QueueProbed(context.Message.ProbeId, Environment.MachineName, Environment.ProcessId));
}

/// <summary>
/// <c>GET /health?queue=&lt;q&gt;&amp;timeout=&lt;s&gt;</c> on the Worker's health port: sends a probe through the
/// queue and is healthy only if some Worker answered it within the timeout.
/// </summary>
public sealed class QueueProbe(IClientFactory clients, ILogger<QueueProbe> logger) : IQueueProbe
{
    public async Task<bool> ProbeAsync(string queue, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probe = new ProbeQueue(NewId.NextGuid());
        try
        {
            // To the queue's exchange: a queue: address would declare the task queue without its arguments (TaskQueues), and a
            // probe of a queue nobody declared yet is answered by nobody either way.
            var client = clients.CreateRequestClient<ProbeQueue>(new Uri($"exchange:{queue}"), RequestTimeout.After(ms: (int)timeout.TotalMilliseconds));
            var answer = await client.GetResponse<QueueProbed>(probe, cancellationToken);
            logger.LogDebug("Queue {Queue} answered by {Host} ({ProcessId})", queue, answer.Message.Host, answer.Message.ProcessId);
            return true;
        }
        catch (RequestTimeoutException)
        {
            return false;
        }
    }
}
