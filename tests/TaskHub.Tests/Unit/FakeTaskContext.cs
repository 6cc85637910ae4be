using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Unit;

/// <summary>An attempt of a task named "T" with <paramref name="args"/>, for calling handlers without a Worker.</summary>
sealed class FakeTaskContext(params object?[] args) : ITaskContext
{
    public Guid TaskId { get; } = Guid.NewGuid();
    public string Name => "T";
    public IReadOnlyList<TaskArg> Args { get; } = TaskSignature.Create("T", args).Args;
    public int Attempt => 1;
    public CancellationToken CancellationToken => CancellationToken.None;
    public IServiceProvider Services => null!;
    public Task ReportProgressAsync(int current, int total, string? message = null) => Task.CompletedTask;
}
