using NeuralCore.Training;

namespace NeuralCore.Serialization;

/// <summary>
/// What training a model cost, as a model manifest and a model registry record it: the run's FLOPs and energy, with
/// the method that gave the energy (<c>"Measured-RAPL"</c>, <c>"Estimated-TDP"</c>, optionally <c>"+Measured-NVML"</c>).
/// </summary>
/// <param name="Flops">FLOPs of the whole run (forward, backward and optimizer; validation included).</param>
/// <param name="EnergyJoules">Energy of the run in joules.</param>
/// <param name="Co2eGrams">Grams of CO2e at the carbon intensity the run was measured with.</param>
/// <param name="Method">How the energy was obtained (<see cref="Profiling.EnergyReport.Method"/>).</param>
public sealed record RecordedTrainingCost(long Flops, double EnergyJoules, double Co2eGrams, string Method)
{
    /// <summary>Longest <see cref="Method"/> accepted.</summary>
    public const int MaxMethodLength = 64;

    /// <summary>The run's cost as <see cref="History.TotalCost"/> gives it, or null when it was not measured.</summary>
    public static RecordedTrainingCost? From(History? history) =>
        history?.TotalCost is { } c ? new RecordedTrainingCost(c.Flops, c.Energy.Joules, c.Energy.Co2eGrams, c.Energy.Method) : null;

    /// <summary>Energy in kWh.</summary>
    public double EnergyKWh => EnergyJoules / Profiling.EnergyReport.JoulesPerKWh;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A count or amount is negative or not finite, or the method is empty, too long or not printable ASCII; the message names it.</exception>
    public void Validate()
    {
        if (Flops < 0) throw new ArgumentException($"Training cost: FLOPs must be ≥ 0, got {Flops}.");
        if (!(EnergyJoules >= 0) || double.IsInfinity(EnergyJoules)) throw new ArgumentException($"Training cost: energy must be a finite number of joules ≥ 0, got {EnergyJoules}.");
        if (!(Co2eGrams >= 0) || double.IsInfinity(Co2eGrams)) throw new ArgumentException($"Training cost: CO2e must be a finite number of grams ≥ 0, got {Co2eGrams}.");
        if (string.IsNullOrEmpty(Method) || Method.Length > MaxMethodLength || !Method.All(c => c is >= ' ' and <= '~'))
            throw new ArgumentException($"Training cost: the method must be 1 to {MaxMethodLength} printable ASCII characters, got \"{MessageText.Clip(Method)}\".");
    }
}
