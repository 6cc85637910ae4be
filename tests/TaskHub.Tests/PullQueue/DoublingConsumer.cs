using System.Collections.Concurrent;
using System.Text.Json;

namespace TaskHub.Tests.PullQueue;

/// <summary>
/// A pull consumer as seed 004's example runs one: long-poll peek, acquire, process, reply. It answers
/// <c>{"doubled": 2n}</c> for <c>info.n</c> and the content reversed, and records every task it processed.
/// </summary>
public sealed class DoublingConsumer : IAsyncDisposable
{
    readonly PullQueueClient _client;
    readonly string _queue;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;

    public DoublingConsumer(PullQueueClient client, string queue)
    {
        _client = client;
        _queue = queue;
        _loop = Task.Run(RunAsync);
    }

    public ConcurrentQueue<string> Processed { get; } = new();

    async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var peeked = await _client.PeekAsync(_queue, size: 10, timeout: 5, cancellationToken: _stop.Token);
            var ids = PullQueueClient.Ids(peeked.GetProperty("data"));
            if (ids.Length == 0)
                continue;
            foreach (var task in await _client.AcquireAsync(_queue, ids, cancellationToken: _stop.Token))
            {
                var id = task.GetProperty("id").GetString()!;
                var n = task.GetProperty("info").TryGetProperty("n", out var value) ? value.GetInt32() : 0;
                var content = new string(PullQueueClient.Text(task.GetProperty("content")).Reverse().ToArray());
                Processed.Enqueue(id);
                Assert.True(await _client.ReplyAsync(_queue, id, new { doubled = 2 * n }, content, task.GetProperty("lease").GetInt32(), _stop.Token));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    public static int Doubled(JsonElement callAnswer) =>
        callAnswer.GetProperty("data")[0].GetProperty("result_info").GetProperty("doubled").GetInt32();
}
