using System.Threading.Channels;

namespace TaskHub.Scheduler.Persistence.Sagas;

/// <summary>
/// Turns many concurrent single-item calls into few round trips without waiting for a batch to fill:
/// a flush takes whatever is queued at that moment, and what arrives while it runs goes with the next
/// one. At low load every item goes alone at once; under load a round trip carries many.
/// </summary>
/// <remarks>
/// A batch that throws is run again one item at a time, so one bad item fails only its own caller.
/// Callers' cancellation is not observed once an item is queued: its round trip is shared.
/// </remarks>
sealed class OpportunisticBatcher<TItem, TResult> : IAsyncDisposable
{
    readonly Channel<Pending> queued = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false });
    readonly Func<IReadOnlyList<TItem>, Task<TResult[]>> run;
    readonly int maxBatch;
    readonly Task[] flushers;

    /// <param name="run">Runs a batch; returns one result per item, in order.</param>
    /// <param name="maxBatch">The most items one round trip carries.</param>
    /// <param name="concurrentFlushes">Round trips in flight at once.</param>
    public OpportunisticBatcher(Func<IReadOnlyList<TItem>, Task<TResult[]>> run, int maxBatch, int concurrentFlushes)
    {
        this.run = run;
        this.maxBatch = maxBatch;
        flushers = Enumerable.Range(0, concurrentFlushes).Select(_ => Task.Run(FlushLoop)).ToArray();
    }

    public Task<TResult> RunAsync(TItem item)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queued.Writer.TryWrite(pending))
            throw new ObjectDisposedException(GetType().Name);
        return pending.Result.Task;
    }

    async Task FlushLoop()
    {
        var batch = new List<Pending>(maxBatch);
        while (await queued.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < maxBatch && queued.Reader.TryRead(out var pending))
                batch.Add(pending);
            if (batch.Count > 0)
                await FlushAsync(batch);
        }
    }

    async Task FlushAsync(List<Pending> batch)
    {
        try
        {
            var results = await run(batch.Select(p => p.Item).ToArray());
            for (var i = 0; i < batch.Count; i++)
                batch[i].Result.TrySetResult(results[i]);
        }
        catch (Exception) when (batch.Count > 1)
        {
            foreach (var pending in batch)
                await FlushAsync([pending]);
        }
        catch (Exception ex)
        {
            batch[0].Result.TrySetException(ex);
        }
    }

    /// <summary>Runs what is still queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        queued.Writer.TryComplete();
        await Task.WhenAll(flushers);
    }

    readonly record struct Pending(TItem Item, TaskCompletionSource<TResult> Result);
}
