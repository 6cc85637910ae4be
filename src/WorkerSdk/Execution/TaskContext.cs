using MassTransit;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Handlers;

namespace TaskHub.Worker.Execution;

sealed class TaskContext(ExecuteTask task, int attempt, CancellationToken cancellationToken, IServiceProvider services,
    IPublishEndpoint publish, TimeProvider time) : ITaskContext
{
    public Guid TaskId => task.TaskId;
    public string Name => task.Signature.Name;
    public IReadOnlyList<TaskArg> Args => task.Signature.Args;
    public int Attempt => attempt;
    public CancellationToken CancellationToken => cancellationToken;
    public IServiceProvider Services => services;

    public Task ReportProgressAsync(int current, int total, string? message = null) =>
        publish.Publish(new TaskProgressed(TaskId, current, total, message, time.GetUtcNow()), cancellationToken);
}
