namespace NeuralCore.Federated;

/// <summary>How a round attempt ended.</summary>
public enum RoundStatus
{
    /// <summary>Enough clients answered; the global model was updated.</summary>
    Completed,
    /// <summary>Too few answers; the round will be tried again.</summary>
    Retried,
    /// <summary>Too few answers and no retries left; the round was skipped with the model unchanged.</summary>
    Skipped,
}

/// <summary>
/// One round attempt, as the coordinator logs it (and appends to <c>rounds.jsonl</c> in the state directory). For
/// DP-FedAvg it carries what a privacy accountant needs: the sampling rate q, the noise multiplier σ and the number of
/// noised rounds so far.
/// </summary>
/// <param name="Round">Round number (0-based).</param>
/// <param name="Attempt">Attempt number within the round (0-based).</param>
/// <param name="Status">How the attempt ended.</param>
/// <param name="Reason">Why it failed, or null.</param>
/// <param name="Selected">Ids of the selected clients.</param>
/// <param name="Answered">Ids whose updates were aggregated.</param>
/// <param name="Dropped">Ids of selected clients that did not answer in time, disconnected or reported an error.</param>
/// <param name="ConnectedClients">Clients connected when the round started (K).</param>
/// <param name="Examples">Examples behind the aggregated updates.</param>
/// <param name="SamplingRate">q = selected clients / connected clients (with Poisson selection, the selection probability).</param>
/// <param name="NoiseMultiplier">σ (0 without DP).</param>
/// <param name="ClipNorm">S, or null without DP.</param>
/// <param name="NoisedRounds">Rounds completed with DP noise, this one included.</param>
/// <param name="Secure">Whether the round used secure aggregation.</param>
/// <param name="UpdateNorm">L2 norm of the change applied to the global model (0 when not completed).</param>
/// <param name="Seconds">Wall time of the attempt.</param>
/// <param name="Metric">The evaluation callback's value after the round, if any.</param>
/// <param name="Epsilon">User-level ε spent after this attempt at <see cref="CoordinatorOptions.Delta"/>, or null without it.</param>
public sealed record RoundLog(
    int Round, int Attempt, RoundStatus Status, string? Reason,
    IReadOnlyList<int> Selected, IReadOnlyList<int> Answered, IReadOnlyList<int> Dropped,
    int ConnectedClients, long Examples, double SamplingRate, double NoiseMultiplier, double? ClipNorm, int NoisedRounds,
    bool Secure, double UpdateNorm, double Seconds, double? Metric, double? Epsilon = null);
