using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using TaskHub.Contracts.Tasks;

namespace TaskHub.FaultTests.Infrastructure;

public enum TaskKind { DotNet, Http, Grouped }

/// <summary>One planned submission: the n-th task of the load.</summary>
public sealed record Submission(int N, TaskKind Kind, string? Group);

/// <summary>A submission TaskHub answered with success: from then on it must finish.</summary>
public sealed class AcceptedTask(string id, Submission submission)
{
    public string Id { get; } = id;
    public Submission Submission { get; } = submission;
    /// <summary>Its status as <c>GET /tasks/{id}</c> last showed it: "404" when missing, null while never read.</summary>
    public string? Status { get; set; }
    public string? Error { get; set; }
    public bool Final => Status is TaskStatuses.Success or TaskStatuses.Failure;
    public bool WantsCallback => Submission.Kind != TaskKind.DotNet;
}

/// <summary>
/// The load of one fault test: <see cref="TaskCount"/> tasks of three kinds (.NET handler tasks sent
/// with <c>ITaskClient</c>, <c>/task/new</c> with a loopback callee and callback, and the same in one
/// of five groups of parallels 1), submitted at a steady rate over <see cref="LoadDuration"/>, the
/// fault started at the middle, then a bounded wait until every accepted task has finished and
/// every callback has arrived. Counts what a user relies on and returns the problems found.
/// </summary>
public sealed class FaultRun(TaskHubSystem system, LoopbackPeer peer)
{
    public const int TaskCount = 550;
    public const int Groups = 5;
    public static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(12);
    /// <summary>The bounded wait after the load and the fault are over.</summary>
    public static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(90);
    /// <summary>
    /// The wait also ends when nothing moved (no task finished, no callback arrived) this long: longer
    /// than every recovery clock TaskHub has that finishes work (claim lease 10 s, callback retry
    /// ≤ 10 s, sweep 1 s; a stuck send path: Health:StuckSendsAfter 15 s after the broker is back, three probes, the
    /// outbox's lease, a restart), so a stall this long does not resolve itself within the bound either.
    /// </summary>
    public static readonly TimeSpan StallBound = TimeSpan.FromSeconds(45);
    // Longer than the Api's own Api:BrokerTimeout (5 s), as a client's should be: an outage is then a 503, not a timeout.
    static readonly TimeSpan SubmitTimeout = TimeSpan.FromSeconds(10);

    readonly HttpClient _api = new() { BaseAddress = system.ApiAddress, Timeout = SubmitTimeout };
    readonly ConcurrentQueue<AcceptedTask> _accepted = new();
    readonly ConcurrentDictionary<string, int> _notAccepted = new();

    /// <summary>4 of 10 .NET, 4 of 10 HTTP, 2 of 10 grouped (g0…g4 in turn), interleaved.</summary>
    public static IReadOnlyList<Submission> Plan() => Enumerable.Range(0, TaskCount).Select(n => (n % 10) switch
    {
        < 4 => new Submission(n, TaskKind.DotNet, null),
        < 8 => new Submission(n, TaskKind.Http, null),
        _ => new Submission(n, TaskKind.Grouped, $"g{n / 10 % Groups}"),
    }).ToList();

    public async Task<FaultReport> RunAsync(string fault, Func<Task<string>> injectFault, bool expectHealthDip)
    {
        await using var health = new HealthWatch(system.ApiAddress);
        var plan = Plan();
        var pace = LoadDuration / plan.Count;
        using var slots = new SemaphoreSlim(48); // submissions in flight: bounded, so a hung broker slows the load instead of piling it up
        var submissions = new List<Task>();
        Task faultTask = Task.CompletedTask;
        TimeSpan faultStart = default, faultEnd = default;
        var faultDetail = "";
        foreach (var submission in plan)
        {
            if (submission.N == plan.Count / 2)
            {
                faultStart = health.Now;
                faultTask = Task.Run(async () =>
                {
                    faultDetail = await injectFault();
                    faultEnd = health.Now;
                });
            }
            // Read once: a second read may already be past due, and a negative delay throws.
            var wait = pace * submission.N - health.Now;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            await slots.WaitAsync();
            submissions.Add(Task.Run(async () =>
            {
                try { await SubmitAsync(submission); }
                finally { slots.Release(); }
            }));
        }
        await Task.WhenAll(submissions);
        var loadEnd = health.Now;
        await faultTask; // a fault that could not be injected (stack.sh failed) is the harness's failure: it throws here

        var accepted = _accepted.ToList();
        var drainStart = Stopwatch.StartNew();
        var lastProgress = TimeSpan.Zero;
        var lastScore = -1;
        string drainEnd;
        while (true)
        {
            await ReadStatusesAsync(accepted.Where(t => !t.Final));
            if (accepted.All(t => t.Final) && accepted.Where(t => t.WantsCallback).All(t => peer.CallbacksFor(t.Id) >= 1))
            {
                drainEnd = $"drained {(health.Now - faultEnd).TotalSeconds:0.0}s after the fault ended";
                break;
            }
            var score = accepted.Count(t => t.Final) + peer.CallbackArrivals();
            if (score != lastScore) (lastScore, lastProgress) = (score, drainStart.Elapsed);
            if (drainStart.Elapsed > DrainBound) { drainEnd = $"NOT drained within {DrainBound.TotalSeconds:0}s"; break; }
            if (drainStart.Elapsed - lastProgress > StallBound)
            {
                drainEnd = $"NOT drained: nothing moved for {StallBound.TotalSeconds:0}s ({drainStart.Elapsed.TotalSeconds:0}s into the wait)";
                break;
            }
            await Task.Delay(500);
        }
        // Late repeats of a callback or a callee call would show within this.
        await Task.Delay(2000);
        if (expectHealthDip)
            for (var waited = 0; waited < 30_000 && health.Current != "200"; waited += 200)
                await Task.Delay(200);
        await ReadStatusesAsync(accepted); // the final word on every task

        return new FaultReport(fault, accepted, new Dictionary<string, int>(_notAccepted), peer.Counts(),
            accepted.Where(t => t.WantsCallback).ToDictionary(t => t.Id, t => peer.CallbacksFor(t.Id)),
            expectHealthDip, health.Went503(faultStart), health.BackTo200After503(faultStart), health.Transitions(),
            faultStart, faultEnd, faultDetail, loadEnd, drainEnd, system.UnexpectedExits().ToList(), system.Restarts().ToList());
    }

    async Task SubmitAsync(Submission s)
    {
        try
        {
            string id;
            if (s.Kind == TaskKind.DotNet)
            {
                using var timeout = new CancellationTokenSource(SubmitTimeout);
                var signature = s.N % 2 == 0 ? TaskSignature.Create("Echo", $"x{s.N}") : TaskSignature.Create("Sleep", 50);
                id = (await system.Client.SendTaskAsync(signature, cancellationToken: timeout.Token)).ToString();
            }
            else
            {
                var query = $"callee={Uri.EscapeDataString(peer.CalleeUrl)}&callback={Uri.EscapeDataString(peer.CallbackUrl)}";
                if (s.Group is not null) query += $"&group={s.Group}";
                using var response = await _api.PostAsJsonAsync($"/task/new?{query}", new { n = s.N, group = s.Group });
                if (!response.IsSuccessStatusCode)
                {
                    NotAccepted($"HTTP {(int)response.StatusCode}");
                    return;
                }
                var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
                id = reply.GetProperty("data").GetString()!;
            }
            _accepted.Enqueue(new AcceptedTask(id, s));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            NotAccepted(e.GetType().Name);
        }
    }

    void NotAccepted(string reason) => _notAccepted.AddOrUpdate(reason, 1, (_, n) => n + 1);

    /// <summary>GET /tasks/{id} of each, 16 at a time; an answer that is neither 200 nor 404 keeps the last known status.</summary>
    async Task ReadStatusesAsync(IEnumerable<AcceptedTask> tasks)
    {
        await Parallel.ForEachAsync(tasks, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (task, _) =>
        {
            try
            {
                using var response = await _api.GetAsync($"/tasks/{task.Id}");
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    task.Status = "404";
                    return;
                }
                if (!response.IsSuccessStatusCode) return;
                var view = await response.Content.ReadFromJsonAsync<JsonElement>();
                task.Status = view.GetProperty("status").GetString();
                task.Error = view.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { }
        });
    }
}
