using System.Diagnostics;

namespace TaskHub.FaultTests.Infrastructure;

/// <summary>
/// Polls the Api's <c>GET /health</c> every 200 ms and keeps each change of its answer (an HTTP
/// status, or "error" when it did not answer within 2 s), with the time since the watch started.
/// </summary>
public sealed class HealthWatch : IAsyncDisposable
{
    readonly HttpClient _http;
    readonly CancellationTokenSource _stop = new();
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly List<(TimeSpan At, string Answer)> _changes = [];
    readonly Task _loop;

    public HealthWatch(Uri api)
    {
        _http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(2) };
        _loop = Task.Run(LoopAsync);
    }

    async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            string answer;
            try
            {
                using var response = await _http.GetAsync("/health", _stop.Token);
                answer = ((int)response.StatusCode).ToString();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { break; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { answer = "error"; }
            lock (_changes)
                if (_changes.Count == 0 || _changes[^1].Answer != answer)
                    _changes.Add((_clock.Elapsed, answer));
            try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { break; }
        }
    }

    public TimeSpan Now => _clock.Elapsed;

    IReadOnlyList<(TimeSpan At, string Answer)> Changes()
    {
        lock (_changes) return _changes.ToList();
    }

    /// <summary>A 503 was seen after <paramref name="since"/>.</summary>
    public bool Went503(TimeSpan since) => Changes().Any(c => c.Answer == "503" && c.At >= since)
        || Changes().LastOrDefault(c => c.At < since).Answer == "503";

    /// <summary>After a 503 seen since <paramref name="since"/>, the latest answer is 200.</summary>
    public bool BackTo200After503(TimeSpan since) => Went503(since) && Changes()[^1].Answer == "200";

    public string Current => Changes().LastOrDefault().Answer ?? "none";

    /// <summary>e.g. "200@0.0s 503@6.4s 200@15.2s".</summary>
    public string Transitions() => string.Join(' ', Changes().Select(c => $"{c.Answer}@{c.At.TotalSeconds:0.0}s"));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _http.Dispose();
        _stop.Dispose();
    }
}
