using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Unit;

/// <summary>A handler that takes the argument list as sent (the HTTP process of task definitions is one).</summary>
public sealed class VariadicHandlerTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task It_takes_any_number_of_arguments(int count)
    {
        var args = Enumerable.Range(1, count).Cast<object?>().ToArray();
        var handler = new TaskHandler("T", (IReadOnlyList<TaskArg> all, ITaskContext ctx) => $"{all.Count}:{ctx.Args.Count}");

        var response = await handler.InvokeAsync(handler.Bind(new FakeTaskContext(args)));

        Assert.Equal($"\"{args.Length}:{args.Length}\"", response);
        Assert.Equal(0, handler.ArgumentCount);
    }
}
