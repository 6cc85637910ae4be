using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Unit;

/// <summary>A handler that takes the argument list as sent (the HTTP process of task definitions is one).</summary>
public sealed class VariadicHandlerTests
{
    sealed class Context(params object?[] args) : ITaskContext
    {
        public Guid TaskId { get; } = Guid.NewGuid();
        public string Name => "T";
        public IReadOnlyList<TaskArg> Args { get; } = TaskSignature.Create("T", args).Args;
        public int Attempt => 1;
        public CancellationToken CancellationToken => CancellationToken.None;
        public IServiceProvider Services => null!;
        public Task ReportProgressAsync(int current, int total, string? message = null) => Task.CompletedTask;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task It_takes_any_number_of_arguments(int count)
    {
        var args = Enumerable.Range(1, count).Cast<object?>().ToArray();
        var handler = new TaskHandler("T", (IReadOnlyList<TaskArg> all, ITaskContext ctx) => $"{all.Count}:{ctx.Args.Count}");

        var response = await handler.InvokeAsync(handler.Bind(new Context(args)));

        Assert.Equal($"\"{args.Length}:{args.Length}\"", response);
        Assert.Equal(0, handler.ArgumentCount);
    }
}
