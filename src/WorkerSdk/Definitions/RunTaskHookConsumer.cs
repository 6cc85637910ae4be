using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Worker.Execution;
using TaskHub.Worker.Handlers;

namespace TaskHub.Worker.Definitions;

/// <summary>
/// Runs a .NET hook handler (or a type's <c>next</c> id generator) for whoever asks: the Scheduler,
/// which delivers a task's hooks one at a time in order and retries a failed one, or the Api.
/// The outcome is always answered, never thrown, so a failing hook leaves nothing in an error queue.
/// </summary>
public sealed class RunTaskHookConsumer(
    TaskHandlerRegistry handlers,
    IServiceScopeFactory scopes,
    IOptions<WorkerOptions> options,
    TimeProvider time) : IConsumer<RunTaskHook>
{
    public async Task Consume(ConsumeContext<RunTaskHook> context)
    {
        var hook = context.Message;
        if (!handlers.TryGet(hook.Handler, out var handler))
        {
            await context.RespondAsync(new TaskHookRan(hook.TaskId, null, $"no handler named '{hook.Handler}' is registered in this Worker"));
            return;
        }
        var timeout = TimeSpan.FromMilliseconds(hook.TimeoutMs);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        cancellation.CancelAfter(timeout);
        await using var scope = scopes.CreateAsyncScope();
        var task = new ExecuteTask(hook.TaskId, new TaskSignature(hook.Handler, hook.Args), null);
        var taskContext = new TaskContext(task, 1, cancellation.Token, scope.ServiceProvider, context, time);
        string? response = null;
        string? error = null;
        try
        {
            var arguments = handler.Bind(taskContext);
            // As for tasks: a handler that ignores its token gets a short grace, then is abandoned.
            response = await Task.Run(() => handler.InvokeAsync(arguments))
                .WaitAsync(timeout + TimeSpan.FromMilliseconds(options.Value.TimeoutGraceMs), time, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw; // the Worker is stopping: the request is redelivered
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && cancellation.IsCancellationRequested))
        {
            error = $"timeout: the hook did not finish within {timeout.TotalMilliseconds:0} ms";
        }
        catch (Exception ex)
        {
            error = $"{ex.GetType().Name}: {ex.Message}";
        }
        await context.RespondAsync(new TaskHookRan(hook.TaskId, response, error));
    }
}
