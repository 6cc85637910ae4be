using TaskHub.Contracts.Tasks;

namespace TaskHub.FaultTests.Infrastructure;

/// <summary>What one fault run saw, the one-line summary of it, and the promises it found broken.</summary>
public sealed record FaultReport(
    string Fault,
    IReadOnlyList<AcceptedTask> Accepted,
    IReadOnlyDictionary<string, int> NotAccepted,
    PeerCounts Peer,
    IReadOnlyDictionary<string, int> CallbacksPerTask,
    bool ExpectHealthDip,
    bool HealthWent503,
    bool HealthBackTo200,
    string HealthTransitions,
    TimeSpan FaultStart,
    TimeSpan FaultEnd,
    string FaultDetail,
    TimeSpan LoadEnd,
    string Drain,
    IReadOnlyList<string> UnexpectedExits,
    IReadOnlyList<string> Restarts)
{
    IEnumerable<AcceptedTask> Success => Accepted.Where(t => t.Status == TaskStatuses.Success);
    IEnumerable<AcceptedTask> Failure => Accepted.Where(t => t.Status == TaskStatuses.Failure);
    IEnumerable<AcceptedTask> FailureWithoutError => Failure.Where(t => string.IsNullOrWhiteSpace(t.Error));
    IEnumerable<AcceptedTask> Missing => Accepted.Where(t => t.Status == "404");
    /// <summary>Known but not finished (WAITING, RUNNING, ...), or never readable.</summary>
    IEnumerable<AcceptedTask> Stuck => Accepted.Where(t => !t.Final && t.Status != "404");
    IEnumerable<string> CallbackMissing => CallbacksPerTask.Where(c => c.Value == 0).Select(c => c.Key);
    /// <summary>
    /// More than once, except a callback delivered in the last moments before a Scheduler was killed (in the
    /// receiver's hands, or its answer or record not yet made): that may come a second time, once; no more, and
    /// none delivered earlier.
    /// </summary>
    IEnumerable<string> CallbackDuplicated =>
        CallbacksPerTask.Where(c => c.Value > (Peer.CallbacksDeliveredJustBeforeKill.Contains(c.Key) ? 2 : 1)).Select(c => c.Key);
    int CallbacksRedeliveredAfterKill => CallbacksPerTask.Count(c => c.Value == 2 && Peer.CallbacksDeliveredJustBeforeKill.Contains(c.Key));

    /// <summary>When a duplicated callback first came, relative to the kill: the evidence for or against the kill window.</summary>
    string FromKill(string id) => Peer.FirstCallbackSecondsFromKill.TryGetValue(id, out var seconds) ? $" (first {seconds:+0.00;-0.00} s from the kill)" : "";

    public string Summary()
    {
        string Count(TaskKind kind) => Accepted.Count(t => t.Submission.Kind == kind).ToString();
        var notAccepted = NotAccepted.Count == 0 ? "0"
            : $"{NotAccepted.Values.Sum()} ({string.Join(", ", NotAccepted.OrderBy(n => n.Key).Select(n => $"{n.Key}: {n.Value}"))})";
        var stuckStates = Stuck.GroupBy(t => t.Status ?? "unread").Select(g => $"{g.Key}: {g.Count()}");
        var groups = Enumerable.Range(0, FaultRun.Groups).Select(g => $"g{g}={Peer.MaxInFlightPerGroup.GetValueOrDefault($"g{g}")}");
        var calledNotAccepted = Peer.CalledIds.Except(Accepted.Select(t => t.Id), StringComparer.OrdinalIgnoreCase).Count();
        return $"[fault-tests] {Fault}: accepted {Accepted.Count} (dotnet {Count(TaskKind.DotNet)}, http {Count(TaskKind.Http)}, grouped {Count(TaskKind.Grouped)}), " +
            $"not accepted {notAccepted}; success {Success.Count()}, failure {Failure.Count()} (without error {FailureWithoutError.Count()}), " +
            $"missing {Missing.Count()}, stuck {Stuck.Count()}{(Stuck.Any() ? $" ({string.Join(", ", stuckStates)})" : "")}; " +
            $"callbacks exactly-once {CallbacksPerTask.Count(c => c.Value == 1)}, missing {CallbackMissing.Count()}, duplicated {CallbackDuplicated.Count()}" +
            $"{(CallbacksRedeliveredAfterKill > 0 ? $" (+{CallbacksRedeliveredAfterKill} delivered again: delivered just before the kill, not yet recorded)" : "")}; " +
            $"max in-flight per group {string.Join(' ', groups)}; " +
            $"callee calls {Peer.Calls} for {Peer.CalledTasks} tasks ({calledNotAccepted} not accepted), duplicate calls of confirmed tasks {Peer.DuplicateCalls}, " +
            $"repeat calls in flight {Peer.RepeatCallsInFlight}, confirm retries after 5xx {Peer.ConfirmRetries}, confirms answered 4xx {Peer.ConfirmsRejected}, given up {Peer.ConfirmsGivenUp}; " +
            $"health {HealthTransitions}; fault {FaultStart.TotalSeconds:0.0}s-{FaultEnd.TotalSeconds:0.0}s{(FaultDetail.Length > 0 ? $" ({FaultDetail})" : "")}, load ended {LoadEnd.TotalSeconds:0.0}s, {Drain}" +
            $"; restarted after a stuck send path: {(Restarts.Count == 0 ? "none" : string.Join(", ", Restarts))}";
    }

    /// <summary>Every broken promise, each with a few examples.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Check(IEnumerable<AcceptedTask> tasks, string what)
        {
            var list = tasks.ToList();
            if (list.Count > 0)
                problems.Add($"{list.Count} accepted task(s) {what}, e.g. " +
                    string.Join(", ", list.Take(5).Select(t => $"{t.Id} ({t.Submission.Kind}{(t.Submission.Group is { } g ? " " + g : "")}, n={t.Submission.N}, {t.Status ?? "never read"})")));
        }
        if (Accepted.Count == 0) problems.Add("no task was accepted");
        Check(Missing, "missing (GET /tasks/{id} answers 404)");
        Check(Stuck, "not finished after the bounded wait");
        Check(FailureWithoutError, "FAILURE without an error");
        if (CallbackMissing.Any())
            problems.Add($"{CallbackMissing.Count()} accepted /task/new task(s) got no callback, e.g. {string.Join(", ", CallbackMissing.Take(5))}");
        if (CallbackDuplicated.Any())
            problems.Add($"{CallbackDuplicated.Count()} accepted /task/new task(s) got more than one callback, e.g. " +
                string.Join(", ", CallbackDuplicated.Take(5).Select(id => $"{id} x{CallbacksPerTask[id]}{FromKill(id)}")));
        foreach (var (group, max) in Peer.MaxInFlightPerGroup.Where(g => g.Value > 1))
            problems.Add($"group {group} (parallels 1) had {max} tasks in flight at once: {Peer.Overlaps.GetValueOrDefault(group)}");
        if (ExpectHealthDip && !HealthWent503)
            problems.Add($"GET /health never answered 503 during the fault ({HealthTransitions})");
        if (ExpectHealthDip && HealthWent503 && !HealthBackTo200)
            problems.Add($"GET /health did not come back to 200 after the fault ({HealthTransitions})");
        problems.AddRange(UnexpectedExits);
        return problems;
    }

    /// <summary>The most common FAILURE errors (a FAILURE with its reason is a kept promise; shown for the reader).</summary>
    public string FailureErrors() => !Failure.Any() ? ""
        : "FAILURE errors: " + string.Join("; ", Failure.GroupBy(t => t.Error).OrderByDescending(g => g.Count()).Take(3).Select(g => $"{g.Count()}x \"{g.Key}\""));
}
