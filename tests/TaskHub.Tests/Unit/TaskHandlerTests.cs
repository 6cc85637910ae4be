using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Handlers;

namespace TaskHub.Tests.Unit;

public sealed class TaskHandlerTests
{
    [Fact]
    public void Signature_carries_gobay_type_names()
    {
        var signature = TaskSignature.Create("SomeAsyncTask", 42UL, "x", 1.5, true, -3L);
        Assert.Equal(["uint64", "string", "float64", "bool", "int64"], signature.Args.Select(a => a.Type));
        Assert.Equal("42", signature.Args[0].Value.GetRawText());
    }

    [Fact]
    public async Task Arguments_bind_by_position_around_injected_context_and_token()
    {
        var handler = new TaskHandler("T", (ulong id, ITaskContext ctx, string label, CancellationToken ct) => $"{label}:{id}:{ctx.Attempt}");
        var response = await handler.InvokeAsync(handler.Bind(new FakeTaskContext(42UL, "item")));
        Assert.Equal("\"item:42:1\"", response);
        Assert.Equal(2, handler.ArgumentCount);
    }

    [Fact]
    public async Task Async_results_are_serialized_and_void_results_are_null()
    {
        var typed = new TaskHandler("T", async (int n) => { await Task.Yield(); return new { doubled = n * 2 }; });
        var untyped = new TaskHandler("T", async () => await Task.Yield());
        Assert.Equal("{\"doubled\":8}", await typed.InvokeAsync(typed.Bind(new FakeTaskContext(4))));
        Assert.Null(await untyped.InvokeAsync(untyped.Bind(new FakeTaskContext())));
    }

    [Fact]
    public void Wrong_argument_count_or_type_is_an_argument_error()
    {
        var handler = new TaskHandler("T", (ulong id) => id);
        Assert.Contains("takes 1 argument(s) but was sent 2", Assert.Throws<TaskArgumentException>(() => handler.Bind(new FakeTaskContext(1UL, 2UL))).Message);
        Assert.Contains("does not convert to UInt64", Assert.Throws<TaskArgumentException>(() => handler.Bind(new FakeTaskContext("x"))).Message);
    }

    [Fact]
    public async Task Handler_exceptions_surface_as_themselves()
    {
        var handler = new TaskHandler("T", new Func<int>(() => throw new TimeZoneNotFoundException("nope")));
        await Assert.ThrowsAsync<TimeZoneNotFoundException>(() => handler.InvokeAsync(handler.Bind(new FakeTaskContext())));
    }

    [Fact]
    public void Registry_refuses_a_second_handler_with_the_same_name()
    {
        var registry = new TaskHandlerRegistry().Register("A", () => 1);
        Assert.Throws<InvalidOperationException>(() => registry.Register("A", () => 2));
        Assert.True(registry.TryGet("A", out _));
        Assert.False(registry.TryGet("B", out _));
    }
}
