using NeuralCore.Data;

namespace NeuralCore.Training;

/// <summary>The validated arguments of one <c>Fit</c> call.</summary>
internal sealed record FitOptions(
    int Epochs, int BatchSize, Dataset? ValidationData, double ValidationSplit, bool Shuffle, int Verbose,
    IReadOnlyList<Callback> Callbacks, IProgress<TrainingProgress>? Progress, int AccumulationSteps = 1,
    bool MeasureCost = true, Profiling.EnergyOptions? Energy = null, DataLoader? Loader = null,
    CancellationToken CancellationToken = default);
