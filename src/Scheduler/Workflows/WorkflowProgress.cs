using System.Text.Json;
using TaskHub.Contracts.Tasks;
using TaskHub.Contracts.Workflows;

namespace TaskHub.Scheduler.Workflows;

/// <summary>
/// A workflow's rules, apart from the saga that stores them: which members start now and with what, when the workflow has
/// succeeded (and its result) or failed (and why). A member's finish is recorded however often it is reported, and a member
/// is started once, so an event handled twice changes nothing.
/// </summary>
public sealed class WorkflowProgress
{
    readonly MemberProgress[] members;
    readonly TaskArg? input;

    public WorkflowSpec Spec { get; }

    WorkflowProgress(WorkflowSpec spec, MemberProgress[] members, TaskArg? input) => (Spec, this.members, this.input) = (spec, members, input);

    public static WorkflowProgress New(WorkflowSpec spec, TaskArg? input) =>
        new(spec, spec.Members.Select(_ => new MemberProgress()).ToArray(), input);

    /// <summary>The workflow's progress, parsed from its row once per loaded instance.</summary>
    public static WorkflowProgress Of(WorkflowState workflow) => workflow.Parsed ??= new(
        JsonSerializer.Deserialize<WorkflowSpec>(workflow.Spec, WorkflowJson.Options)!,
        JsonSerializer.Deserialize<MemberProgress[]>(workflow.Members, WorkflowJson.Options)!,
        workflow.Input is null ? null : JsonSerializer.Deserialize<TaskArg>(workflow.Input, WorkflowJson.Options));

    /// <summary>A new workflow's row: what never changes (kind, spec, input), then its members' progress.</summary>
    public void StartIn(WorkflowState workflow)
    {
        workflow.Kind = Spec.Kind.ToString().ToLowerInvariant();
        workflow.Spec = JsonSerializer.Serialize(Spec, WorkflowJson.Options);
        workflow.Input = input is null ? null : JsonSerializer.Serialize(input, WorkflowJson.Options);
        SaveTo(workflow);
    }

    /// <summary>Writes the members' progress (the one part that changes) into the row.</summary>
    public void SaveTo(WorkflowState workflow)
    {
        workflow.Members = JsonSerializer.Serialize(members, WorkflowJson.Options);
        workflow.Parsed = this;
    }

    public IReadOnlyList<MemberProgress> Members => members;

    int StepCount => Spec.Steps.Count;

    /// <summary>The most a group's results may hold together (its result, a chord callback's argument, one message).</summary>
    public const int MaxResultsLength = 4 * 1024 * 1024;

    /// <summary>
    /// A finish as reported: the latest finish wins (an operator's retry may turn a failure into a success), whatever order the
    /// reports come in. A result that would take a group's results past <see cref="MaxResultsLength"/> fails the member.
    /// </summary>
    public void Record(int index, bool succeeded, string? result, string? error, DateTimeOffset at)
    {
        if (index < 0 || index >= members.Length || members[index].At > at)
            return;
        if (succeeded && Spec.Kind != WorkflowKind.Chain && index < StepCount
            && members.Where((m, i) => i != index && i < StepCount).Sum(m => m.Result?.Length ?? 0) + (result?.Length ?? 0) > MaxResultsLength)
            (succeeded, error) = (false, $"the results together exceed {MaxResultsLength / (1024 * 1024)} MB");
        members[index] = new MemberProgress(true, succeeded, succeeded ? result : null, succeeded ? null : error, at);
    }

    /// <summary>Why the workflow failed: its first failed member's error; null while none failed.</summary>
    public string? Failure => members.Select((m, i) => (m, i)).FirstOrDefault(x => x.m.Succeeded == false) is ({ } failed, var index)
        ? $"{Spec.Kind.ToString().ToLowerInvariant()} member {index} failed: {failed.Error}"
        : null;

    public bool Complete => Failure is null && Spec.Kind switch
    {
        WorkflowKind.Chain => members[StepCount - 1].Succeeded == true,
        WorkflowKind.Group => StepsSucceeded,
        _ => members[StepCount].Succeeded == true,
    };

    /// <summary>The workflow's result once <see cref="Complete"/>: a chain's last step's, a group's results in order, a chord's callback's.</summary>
    public string? Result => Spec.Kind == WorkflowKind.Group ? StepResults : members[^1].Result;

    bool StepsSucceeded => members.Take(StepCount).All(m => m.Succeeded == true);

    /// <summary>The steps' results as one JSON array, in the steps' order.</summary>
    string StepResults => $"[{string.Join(",", members.Take(StepCount).Select(m => m.Result ?? "null"))}]";

    /// <summary>
    /// The members to start now, each with the result it is given (null: none), marked started: nothing once a member failed;
    /// a chain's next step once the one before succeeded; a group's steps while fewer than its concurrency run; a chord's
    /// callback once every step succeeded.
    /// </summary>
    public IReadOnlyList<(int Index, WorkflowStep Step, TaskArg? Input)> StartReady()
    {
        var ready = new List<(int, WorkflowStep, TaskArg?)>();
        var steps = Spec.Members.ToList();
        if (Failure is not null)
            return ready;
        void Start(int index, TaskArg? given)
        {
            members[index] = members[index] with { Started = true };
            ready.Add((index, steps[index], given));
        }
        if (Spec.Kind == WorkflowKind.Chain)
        {
            var next = Array.FindIndex(members, m => !m.Started);
            if (next == 0)
                Start(0, input);
            else if (next > 0 && members[next - 1].Succeeded == true)
                Start(next, PassedResults.Arg(members[next - 1].Result));
            return ready;
        }
        var limit = Spec.SendConcurrency > 0 ? Spec.SendConcurrency : StepCount;
        var running = members.Take(StepCount).Count(m => m.Running);
        for (var i = 0; i < StepCount && running < limit; i++)
            if (!members[i].Started)
            {
                Start(i, input);
                running++;
            }
        if (Spec.Kind == WorkflowKind.Chord && StepsSucceeded && !members[StepCount].Started)
            Start(StepCount, PassedResults.Arg(StepResults));
        return ready;
    }

    /// <summary>
    /// What cancelling the workflow cancels: the members started and not finished, and nested workflows that failed (an
    /// operator's retry inside one would resume it).
    /// </summary>
    public IEnumerable<WorkflowStep> Unfinished =>
        Spec.Members.Where((step, i) => members[i].Running || step.Workflow is not null && members[i].Succeeded == false);
}
