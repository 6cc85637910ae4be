using TaskHub.Contracts.Messages;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Workflows;
using TaskHub.Scheduler.Workflows;

namespace TaskHub.Tests.Unit;

/// <summary>The workflow rules apart from the saga: what starts when, with what, and which report wins.</summary>
public sealed class WorkflowProgressTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    static WorkflowStep Task(int n) => WorkflowStep.Of(new SubmitTask(Guid.NewGuid(), TaskSignature.Create("T", n), null, null, T0));

    static WorkflowProgress New(WorkflowKind kind, int steps, int concurrency = 0, WorkflowStep? callback = null) =>
        WorkflowProgress.New(new WorkflowSpec(kind, Enumerable.Range(0, steps).Select(Task).ToList(), callback, concurrency), null);

    [Fact]
    public void A_group_starts_no_more_than_its_concurrency_and_the_next_as_one_finishes()
    {
        var group = New(WorkflowKind.Group, 5, concurrency: 2);
        Assert.Equal([0, 1], group.StartReady().Select(r => r.Index));
        Assert.Empty(group.StartReady());
        group.Record(1, true, "11", null, T0);
        Assert.Equal([2], group.StartReady().Select(r => r.Index));
        foreach (var i in new[] { 0, 2 }) group.Record(i, true, $"1{i}", null, T0);
        Assert.Equal([3, 4], group.StartReady().Select(r => r.Index));
        foreach (var i in new[] { 4, 3 }) group.Record(i, true, $"1{i}", null, T0);
        Assert.True(group.Complete);
        Assert.Equal("[10,11,12,13,14]", group.Result);
    }

    [Fact]
    public void A_chain_passes_each_result_on_and_a_chord_its_results_in_order_to_the_callback()
    {
        var chain = New(WorkflowKind.Chain, 2);
        Assert.Null(Assert.Single(chain.StartReady()).Input);
        chain.Record(0, true, "\"three\"", null, T0);
        var next = Assert.Single(chain.StartReady());
        Assert.Equal((1, "string", "three"), (next.Index, next.Input!.Type, next.Input.Value.GetString()));

        var chord = New(WorkflowKind.Chord, 3, callback: Task(9));
        Assert.Equal(3, chord.StartReady().Count);
        foreach (var i in new[] { 2, 0, 1 }) chord.Record(i, true, $"{i}", null, T0);
        var callback = Assert.Single(chord.StartReady());
        Assert.Equal((3, "[0,1,2]"), (callback.Index, callback.Input!.Value.GetRawText()));
        Assert.False(chord.Complete);
        chord.Record(3, true, "3", null, T0);
        Assert.Equal((true, "3"), (chord.Complete, chord.Result));
    }

    [Fact]
    public void A_failure_stops_what_has_not_started_and_a_late_stale_report_does_not_undo_a_retry_that_succeeded()
    {
        var group = New(WorkflowKind.Chord, 3, concurrency: 1, callback: Task(9));
        group.StartReady();
        group.Record(0, false, null, "broke", T0);
        Assert.Contains("chord member 0 failed: broke", group.Failure);
        Assert.Empty(group.StartReady());

        // The operator's retry succeeded; the first failure's report, delayed, comes after it.
        group.Record(0, true, "1", null, T0.AddSeconds(5));
        group.Record(0, false, null, "broke", T0);
        Assert.Null(group.Failure);
        Assert.Equal([1], group.StartReady().Select(r => r.Index));
    }

    [Fact]
    public void A_group_whose_results_grow_too_large_fails_the_member_that_crossed_the_line()
    {
        var group = New(WorkflowKind.Group, 3);
        group.StartReady();
        var big = new string('x', WorkflowProgress.MaxResultsLength / 2 + 1);
        group.Record(0, true, big, null, T0);
        group.Record(1, true, big, null, T0);
        Assert.Contains("member 1 failed: the results together exceed 4 MB", group.Failure);
    }

    [Fact]
    public void Cancelling_reaches_running_members_and_failed_nested_workflows()
    {
        var nested = WorkflowStep.Of(Guid.NewGuid(), new WorkflowSpec(WorkflowKind.Group, [Task(1)]));
        var chain = WorkflowProgress.New(new WorkflowSpec(WorkflowKind.Group, [Task(0), nested, Task(2)]), null);
        chain.StartReady();
        chain.Record(1, false, null, "inner", T0);
        chain.Record(2, true, "2", null, T0);
        Assert.Equal([chain.Spec.Steps[0].Id, nested.Id], chain.Unfinished.Select(s => s.Id));
    }
}
