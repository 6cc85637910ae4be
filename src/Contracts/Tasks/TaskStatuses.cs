namespace TaskHub.Contracts.Tasks;

/// <summary>The one vocabulary of task states the API speaks (seed 001's words).</summary>
public static class TaskStatuses
{
    public const string Waiting = "WAITING";
    public const string Running = "RUNNING";
    public const string Success = "SUCCESS";
    public const string Failure = "FAILURE";

    public static bool IsFinished(string status) => status is Success or Failure;

    /// <summary>The task saga's state names (stored in <c>tasks.current_state</c>) in the API's words.</summary>
    public static string FromSagaState(string? state) => state switch
    {
        "Running" => Running,
        "Succeeded" => Success,
        "Failed" => Failure,
        _ => Waiting,
    };
}
