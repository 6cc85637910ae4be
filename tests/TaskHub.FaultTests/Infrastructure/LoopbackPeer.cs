using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TaskHub.FaultTests.Infrastructure;

/// <summary>
/// The user's side of <c>POST /task/new</c> on Kestrel at 127.0.0.1: a callee at <c>/callee</c> that
/// answers 200 at once and confirms 50–200 ms later through the <c>callback</c> URL TaskHub gave it
/// (its <c>/task/end/{id}</c>), as the seed's express app does; and a callback receiver at
/// <c>/callback</c>. It records every call and arrival per task id, and per group how many distinct
/// task ids are in flight at once (from the call until it sends the confirmation TaskHub takes: TaskHub may free the slot before that POST's answer is back).
/// </summary>
public sealed class LoopbackPeer : IAsyncDisposable
{
    /// <summary>How long a callee keeps retrying a confirmation that TaskHub answered 5xx or did not answer: as a real callee would.</summary>
    static readonly TimeSpan ConfirmRetryFor = TimeSpan.FromSeconds(60);

    readonly WebApplication _app;
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    readonly object _lock = new();
    readonly Dictionary<string, CalleeTask> _calls = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, Dictionary<string, int>> _inFlight = new(); // group -> task id -> its calls in flight
    readonly Dictionary<string, int> _maxInFlight = new();
    readonly Dictionary<string, string> _overlaps = new(); // group -> who was in flight when its max was reached
    readonly Dictionary<string, int> _callbacks = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, DateTime> _firstCallbackAt = new(StringComparer.OrdinalIgnoreCase);
    readonly List<Task> _confirmations = [];
    int _duplicateCalls, _repeatCallsInFlight, _confirmRetries, _confirmsRejected, _confirmsGivenUp, _callbacksWithoutId;

    LoopbackPeer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;
    public string CalleeUrl => new Uri(BaseAddress, "/callee").ToString();
    public string CallbackUrl => new Uri(BaseAddress, "/callback").ToString();

    sealed class CalleeTask
    {
        public int Calls;
        public bool Confirmed;
        public int ConfirmFailures;
        /// <summary>
        /// A confirm POST is on its way: TaskHub may have taken it (and freed the group slot) before its answer
        /// gets back here, so from now on the task no longer proves a slot taken.
        /// </summary>
        public bool ConfirmSent;
    }

    public static async Task<LoopbackPeer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var peer = new LoopbackPeer(app);
        app.MapPost("/callee", peer.CalleeAsync);
        app.MapPost("/callback", peer.CallbackAsync);
        await app.StartAsync();
        peer.BaseAddress = new Uri(app.Urls.First());
        return peer;
    }

    async Task CalleeAsync(HttpContext context)
    {
        var id = context.Request.Query["id"].ToString();
        var callback = context.Request.Query["callback"].ToString();
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var group = body.RootElement.TryGetProperty("group", out var g) && g.ValueKind == JsonValueKind.String ? g.GetString() : null;
        lock (_lock)
        {
            if (!_calls.TryGetValue(id, out var task))
                _calls[id] = task = new CalleeTask();
            task.Calls++;
            if (task.Confirmed)
                _duplicateCalls++; // a call of a task it already confirmed: confirm it again
            else if (task.Calls > 1)
                _repeatCallsInFlight++;
            if (group is not null)
            {
                if (!_inFlight.TryGetValue(group, out var running))
                    _inFlight[group] = running = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
                running[id] = running.GetValueOrDefault(id) + 1;
                // Members certainly holding a slot: called, and no confirmation sent yet.
                var holding = running.Keys.Where(r => r == id || !_calls[r].ConfirmSent).ToList();
                if (holding.Count > _maxInFlight.GetValueOrDefault(group))
                {
                    _maxInFlight[group] = holding.Count;
                    if (holding.Count > 1)
                        _overlaps[group] = $"on the call of {id}: " + string.Join(", ", holding.Select(r =>
                            $"{r} (calls {_calls[r].Calls}, {(_calls[r].Confirmed ? "already confirmed" : "not confirmed yet")}" +
                            $"{(_calls[r].ConfirmFailures > 0 ? $", {_calls[r].ConfirmFailures} confirm POSTs answered 5xx/failed" : "")})"));
                }
            }
        }
        // The work goes on whatever becomes of the answer (a Worker killed mid-call never reads it).
        var confirm = Task.Run(() => ConfirmAsync(id, group, callback, 50 + Random.Shared.Next(151)));
        lock (_lock) _confirmations.Add(confirm);
        if (group is not null)
            await RunHookAsync(_duringGroupedCall);
        await context.Response.WriteAsJsonAsync(new { ok = true });
    }

    sealed record Hook(Func<Task> Action, TaskCompletionSource Done);
    sealed class HookSlot { public Hook? Hook; }
    readonly HookSlot _duringGroupedCall = new(), _duringCallback = new();

    static async Task RunHookAsync(HookSlot slot, Action? before = null, Action? after = null)
    {
        if (Interlocked.Exchange(ref slot.Hook, null) is not { } hook) return;
        before?.Invoke();
        try { await hook.Action(); hook.Done.TrySetResult(); }
        catch (Exception e) { hook.Done.TrySetException(e); }
        after?.Invoke();
    }

    /// <summary>
    /// Runs <paramref name="action"/> while the next grouped call is in the callee's hands (before it
    /// answers): a Worker killed then has called the callee and not yet heard back. Runs it anyway
    /// when no grouped call comes within <paramref name="wait"/>.
    /// </summary>
    public Task DuringNextGroupedCallAsync(Func<Task> action, TimeSpan wait) => DuringAsync(_duringGroupedCall, action, wait);

    /// <summary>
    /// Runs <paramref name="action"/> while the next callback delivery is in the receiver's hands
    /// (recorded, not yet answered): a Scheduler killed then has delivered and not heard back.
    /// </summary>
    public Task DuringNextCallbackAsync(Func<Task> action, TimeSpan wait) => DuringAsync(_duringCallback, action, wait);

    static async Task DuringAsync(HookSlot slot, Func<Task> action, TimeSpan wait)
    {
        var hook = new Hook(action, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref slot.Hook, hook);
        if (await Task.WhenAny(hook.Done.Task, Task.Delay(wait)) != hook.Done.Task
            && Interlocked.CompareExchange(ref slot.Hook, null, hook) == hook)
        {
            await action();
            return;
        }
        await hook.Done.Task;
    }

    async Task ConfirmAsync(string id, string? group, string callback, int delayMs)
    {
        await Task.Delay(delayMs);
        var until = DateTime.UtcNow + ConfirmRetryFor;
        var confirmed = false;
        while (true)
        {
            lock (_lock) _calls[id].ConfirmSent = true;
            try
            {
                using var response = await _http.PostAsJsonAsync(callback, new { ok = true, data = new { id, confirmedBy = "callee" } });
                // 4xx: TaskHub's final word (e.g. a repeated confirmation); 5xx: it could not record it now.
                if ((int)response.StatusCode < 500)
                {
                    confirmed = response.IsSuccessStatusCode;
                    if (!confirmed) lock (_lock) _confirmsRejected++;
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (DateTime.UtcNow > until) { lock (_lock) _confirmsGivenUp++; break; }
            // Answered 5xx or not at all: not taken, so the task holds its slot again until the next try.
            lock (_lock) { _confirmRetries++; _calls[id].ConfirmFailures++; _calls[id].ConfirmSent = false; }
            await Task.Delay(500);
        }
        lock (_lock)
        {
            if (confirmed || _calls[id].Confirmed) _calls[id].Confirmed = true;
            if (group is not null && _inFlight[group].TryGetValue(id, out var n))
            {
                if (n <= 1) _inFlight[group].Remove(id);
                else _inFlight[group][id] = n - 1;
            }
        }
    }

    async Task CallbackAsync(HttpContext context)
    {
        var id = context.Request.Headers["X-TaskHub-Task-Id"].ToString();
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var root = body.RootElement;
            if (id.Length == 0 && root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String)
                id = i.GetString()!;
            if (id.Length == 0 && root.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object
                && d.TryGetProperty("id", out var di) && di.ValueKind == JsonValueKind.String)
                id = di.GetString()!;
        }
        catch (JsonException) { }
        lock (_lock)
        {
            if (id.Length == 0) _callbacksWithoutId++;
            else
            {
                _callbacks[id] = _callbacks.GetValueOrDefault(id) + 1;
                _firstCallbackAt.TryAdd(id, DateTime.UtcNow);
            }
        }
        await RunHookAsync(_duringCallback, () => { lock (_lock) _killedAt = DateTime.UtcNow; }, () => { lock (_lock) _killDoneAt = DateTime.UtcNow; });
        await context.Response.WriteAsJsonAsync(new { ok = true });
    }

    /// <summary>When the hook ran during a callback (the Scheduler was killed then), and when the kill was over.</summary>
    DateTime? _killedAt, _killDoneAt;

    /// <summary>
    /// How long before the kill a delivery may have arrived and still not be recorded by the Scheduler that
    /// made it: the receiver's answer in transit, the attempt's record not yet written. Such a delivery is
    /// made again, which is the at-least-once promise; one delivered earlier must not be.
    /// </summary>
    static readonly TimeSpan UnrecordedBeforeKill = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long after the kill began a request the dead Scheduler had already sent may still be read here:
    /// several deliveries run at once, and the kill takes a moment. Its successor starts delivering many
    /// seconds later, so a first arrival in this window is the dead one's.
    /// </summary>
    static readonly TimeSpan SentBeforeKillReadAfter = TimeSpan.FromSeconds(1);

    IReadOnlySet<string> DeliveredJustBeforeKill() => _killedAt is { } kill
        ? _firstCallbackAt.Where(c => c.Value >= kill - UnrecordedBeforeKill && c.Value <= (_killDoneAt ?? kill) + SentBeforeKillReadAfter)
            .Select(c => c.Key).ToHashSet(StringComparer.OrdinalIgnoreCase)
        : new HashSet<string>();

    public int CallbacksFor(string id)
    {
        lock (_lock) return _callbacks.GetValueOrDefault(id);
    }

    public int CallbackArrivals()
    {
        lock (_lock) return _callbacks.Values.Sum() + _callbacksWithoutId;
    }

    public PeerCounts Counts()
    {
        lock (_lock)
            return new PeerCounts(
                _calls.Count, _calls.Values.Sum(c => c.Calls), _duplicateCalls, _repeatCallsInFlight, _confirmRetries, _confirmsRejected, _confirmsGivenUp,
                _callbacksWithoutId, new SortedDictionary<string, int>(_maxInFlight), _calls.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase),
                new Dictionary<string, string>(_overlaps), DeliveredJustBeforeKill(),
                _killedAt is { } kill ? _firstCallbackAt.ToDictionary(c => c.Key, c => (c.Value - kill).TotalSeconds, StringComparer.OrdinalIgnoreCase)
                    : new Dictionary<string, double>());
    }

    /// <summary>Waits (bounded) for confirmations still retrying, so none runs into the next test.</summary>
    async Task DrainConfirmationsAsync()
    {
        Task[] pending;
        lock (_lock) pending = _confirmations.ToArray();
        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(5)));
    }

    public async ValueTask DisposeAsync()
    {
        await DrainConfirmationsAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}

public sealed record PeerCounts(
    int CalledTasks, int Calls, int DuplicateCalls, int RepeatCallsInFlight, int ConfirmRetries, int ConfirmsRejected, int ConfirmsGivenUp,
    int CallbacksWithoutId, IReadOnlyDictionary<string, int> MaxInFlightPerGroup, IReadOnlySet<string> CalledIds,
    IReadOnlyDictionary<string, string> Overlaps, IReadOnlySet<string> CallbacksDeliveredJustBeforeKill,
    IReadOnlyDictionary<string, double> FirstCallbackSecondsFromKill);
