namespace TaskHub.Contracts.Tasks;

/// <summary>The one vocabulary of task states the API speaks (seed 001's words, and CANCELLED for what an operator stopped).</summary>
public static class TaskStatuses
{
    public const string Waiting = "WAITING";
    public const string Running = "RUNNING";
    public const string Success = "SUCCESS";
    public const string Failure = "FAILURE";
    public const string Cancelled = "CANCELLED";

    public static readonly string[] All = [Waiting, Running, Success, Failure, Cancelled];

    public static bool IsFinished(string status) => status is Success or Failure or Cancelled;

    /// <summary>The task saga's state names (stored in <c>tasks.current_state</c>) in the API's words.</summary>
    public static string FromSagaState(string? state) => state switch
    {
        "Running" => Running,
        "Succeeded" => Success,
        "Failed" => Failure,
        "Cancelled" => Cancelled,
        _ => Waiting,
    };

    /// <summary>The saga's state names a status stands for (a list filter): WAITING is also a delayed task's.</summary>
    public static IReadOnlyList<string> ToSagaStates(string status) => status switch
    {
        Running => ["Running"],
        Success => ["Succeeded"],
        Failure => ["Failed"],
        Cancelled => ["Cancelled"],
        _ => ["Waiting", "Delayed"],
    };

    /// <summary>
    /// A status as the seeds' surfaces say it: they know four words, so a cancelled task reads there as a
    /// failure (whose error says it was cancelled).
    /// </summary>
    public static string InSeedWords(string status) => status == Cancelled ? Failure : status;
}
