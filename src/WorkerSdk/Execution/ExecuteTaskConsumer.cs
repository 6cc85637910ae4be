using MassTransit;
using Microsoft.Extensions.Options;
using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Options;
using TaskHub.Worker.Handlers;
using TaskHub.Worker.Operations;

namespace TaskHub.Worker.Execution;

/// <summary>
/// Runs one task: finds its handler by name, runs each attempt under its timeout, retries after
/// the policy's delay (a long one stored, see <see cref="AttemptRetries"/>), and reports every step. The message is acknowledged only when the task's
/// outcome is published, so a Worker that dies mid-task leaves it to be redelivered.
/// </summary>
public sealed class ExecuteTaskConsumer(
    TaskHandlerRegistry handlers,
    IOptions<AsyncTaskOptions> options,
    IOptions<WorkerOptions> workerOptions,
    IServiceScopeFactory scopes,
    TaskFence fence,
    AttemptRetries retries,
    StartGate gate,
    RunningTasks running,
    TimeProvider time,
    ILogger<ExecuteTaskConsumer> logger) : IConsumer<ExecuteTask>
{
    public async Task Consume(ConsumeContext<ExecuteTask> context)
    {
        var task = context.Message;
        var first = Math.Max(1, task.Attempt); // the attempt the message starts with
        if (running.WasCancelled(task.TaskId, first) || !await fence.MayRunAsync(context, task.TaskId, first))
            return;
        if (await gate.HoldAsync(context, task, task.Signature.Name, null, at => task with { Rate = StartRate.Reserved(task.Rate, at) }))
            return;
        using var run = running.Start(task.TaskId, first);
        await fence.RunAsync(task.TaskId, first, () => RunAsync(context, run.Cancelled));
    }

    /// <param name="cancelled">Fires when an operator cancels the task.</param>
    async Task RunAsync(ConsumeContext<ExecuteTask> context, CancellationToken cancelled)
    {
        var task = context.Message;
        var name = task.Signature.Name;
        if (!handlers.TryGet(name, out var handler))
        {
            await context.Publish(new TaskFailed(task.TaskId, 0,
                $"unknown task name '{name}': no handler is registered under that name on queue '{context.ReceiveContext.InputAddress.AbsolutePath.Trim('/')}'",
                time.GetUtcNow()));
            return;
        }

        var settings = options.Value;
        settings.Tasks.TryGetValue(name, out var configured);
        var policy = AttemptPolicy.Resolve(task.Policy, configured, handler.Policy, settings);
        var grace = TimeSpan.FromMilliseconds(workerOptions.Value.TimeoutGraceMs);
        var slack = TimeSpan.FromMilliseconds(workerOptions.Value.DeadlineSlackMs);
        var reportStartAfter = TimeSpan.FromMilliseconds(workerOptions.Value.StartedReportDelayMs);

        for (var attempt = Math.Max(1, task.Attempt); !cancelled.IsCancellationRequested; attempt++)
        {
            var startedAt = time.GetUtcNow();
            string error;
            try
            {
                var attemptRun = RunAttempt(context, handler, attempt, policy.Timeout, grace, cancelled);
                // A fast attempt costs one event (its outcome, carrying its start) instead of two.
                var reported = false;
                if (!await FinishesWithin(attemptRun, reportStartAfter))
                {
                    await context.Publish(new TaskStarted(task.TaskId, attempt, startedAt,
                        policy.DeadlineFrom(startedAt, attempt - task.Postponed, grace, slack)));
                    reported = true;
                }
                var response = await attemptRun;
                await context.Publish(new TaskSucceeded(task.TaskId, attempt, response, time.GetUtcNow(), reported ? null : startedAt));
                return;
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                throw; // the Worker is stopping: leave the message to be redelivered
            }
            catch (TaskCancelledByOperatorException)
            {
                logger.LogInformation("Task {TaskId} ({Name}) attempt {Attempt} stopped: the task was cancelled", task.TaskId, name, attempt);
                return; // the saga has the outcome already
            }
            catch (TaskArgumentException ex)
            {
                await context.Publish(new TaskFailed(task.TaskId, attempt, ex.Message, time.GetUtcNow()));
                return;
            }
            catch (RetryLaterException ex)
            {
                logger.LogInformation("Task {TaskId} ({Name}) attempt {Attempt} postponed by {Delay}: {Message}", task.TaskId, name, attempt, ex.Delay,
                    ex.Message);
                await retries.RetryAsync(context, task.TaskId, attempt, $"retry later: {ex.Message}", ex.Delay,
                    task with { Attempt = attempt + 1, Postponed = task.Postponed + 1 }, store: true);
                return;
            }
            catch (AttemptTimeoutException ex)
            {
                error = ex.Message;
            }
            catch (Exception ex)
            {
                error = $"{ex.GetType().Name}: {ex.Message}";
            }

            logger.LogWarning("Task {TaskId} ({Name}) attempt {Attempt}/{Attempts} failed: {Error}", task.TaskId, name, attempt, policy.Attempts, error);
            if (attempt - task.Postponed >= policy.Attempts)
            {
                await context.Publish(new TaskFailed(task.TaskId, attempt, error, time.GetUtcNow()));
                return;
            }
            if (await retries.RetryAsync(context, task.TaskId, attempt, error, policy.DelayAfter(attempt, Random.Shared), task with { Attempt = attempt + 1 }))
                return;
        }
    }

    async Task<bool> FinishesWithin(Task run, TimeSpan delay)
    {
        if (run.IsCompleted) return true;
        if (delay <= TimeSpan.Zero) return false;
        using var cancel = new CancellationTokenSource();
        var first = await Task.WhenAny(run, Task.Delay(delay, time, cancel.Token));
        await cancel.CancelAsync();
        return first == run;
    }

    /// <summary>
    /// The handler's token fires at the timeout; a handler that ignores it gets a short grace and
    /// is then abandoned, so one stuck handler cannot hold the task (or a concurrency slot) forever.
    /// </summary>
    /// <param name="cancelled">Fires when an operator cancels the task: the handler's token fires and the attempt is abandoned at once.</param>
    async Task<string?> RunAttempt(ConsumeContext<ExecuteTask> context, TaskHandler handler, int attempt, TimeSpan timeout, TimeSpan grace,
        CancellationToken cancelled)
    {
        using var attemptCancellation = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, cancelled);
        attemptCancellation.CancelAfter(timeout);
        await using var scope = scopes.CreateAsyncScope();
        var taskContext = new TaskContext(context.Message, attempt, attemptCancellation.Token, scope.ServiceProvider, context, time);
        var arguments = handler.Bind(taskContext);
        var run = Task.Run(() => handler.InvokeAsync(arguments));
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, cancelled);
        try
        {
            return await run.WaitAsync(timeout + grace, time, abandon.Token);
        }
        catch (TimeoutException)
        {
            throw new AttemptTimeoutException(timeout);
        }
        catch (OperationCanceledException) when (cancelled.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // The abandon may come first (and end this method, disposing the handler's source before its link fired).
            await attemptCancellation.CancelAsync();
            throw new TaskCancelledByOperatorException();
        }
        catch (OperationCanceledException) when (attemptCancellation.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new AttemptTimeoutException(timeout);
        }
    }
}

sealed class AttemptTimeoutException(TimeSpan timeout) : Exception($"timeout: the attempt did not finish within {timeout.TotalMilliseconds:0} ms");
