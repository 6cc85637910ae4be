using TaskHub.Contracts.Tasks;

namespace TaskHub.Worker.Handlers;

/// <summary>What a handler knows about the task it runs.</summary>
public interface ITaskContext
{
    Guid TaskId { get; }
    string Name { get; }
    IReadOnlyList<TaskArg> Args { get; }
    /// <summary>1 for the first attempt.</summary>
    int Attempt { get; }
    /// <summary>Fires at the attempt's timeout, or when the Worker shuts down.</summary>
    CancellationToken CancellationToken { get; }
    /// <summary>Services of this attempt's scope.</summary>
    IServiceProvider Services { get; }
    /// <summary>Reports how far the task is (seed 001's <c>Progress(current, total, message)</c>).</summary>
    Task ReportProgressAsync(int current, int total, string? message = null);
}
