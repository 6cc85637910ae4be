namespace TaskHub.Hosting.Health;

/// <summary>A process that can prove a task queue is consumed (the Worker): <c>/health?queue=&amp;timeout=</c> asks it.</summary>
public interface IQueueProbe
{
    Task<bool> ProbeAsync(string queue, TimeSpan timeout, CancellationToken cancellationToken);
}
