using NeuralCore.Profiling;

namespace NeuralCore.Training;

/// <summary>What an epoch (or a run) of <c>Fit</c> cost: FLOPs by phase and the energy used.</summary>
/// <param name="ForwardFlops">FLOPs of forward passes, losses and metrics (validation included).</param>
/// <param name="BackwardFlops">FLOPs of the backward passes.</param>
/// <param name="OptimizerFlops">FLOPs of the optimizer steps.</param>
/// <param name="Energy">Energy used, with its method, kWh and CO2e.</param>
public sealed record TrainingCost(long ForwardFlops, long BackwardFlops, long OptimizerFlops, EnergyReport Energy)
{
    /// <summary>All FLOPs.</summary>
    public long Flops => ForwardFlops + BackwardFlops + OptimizerFlops;

    /// <summary>The cost of two consecutive intervals together.</summary>
    /// <exception cref="ArgumentException">The energy reports differ in method or carbon intensity.</exception>
    public static TrainingCost operator +(TrainingCost a, TrainingCost b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return new TrainingCost(a.ForwardFlops + b.ForwardFlops, a.BackwardFlops + b.BackwardFlops, a.OptimizerFlops + b.OptimizerFlops, a.Energy + b.Energy);
    }

    /// <summary>A FLOP count with an SI prefix: <c>"512 FLOP"</c>, <c>"3.21 GFLOP"</c>.</summary>
    public static string FormatFlops(long flops)
    {
        string[] units = ["FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"];
        double v = flops;
        int u = 0;
        while (Math.Abs(v) >= 1000 && u < units.Length - 1)
        {
            v /= 1000;
            u++;
        }
        return u == 0 ? FormattableString.Invariant($"{flops} FLOP") : FormattableString.Invariant($"{v:F2} {units[u]}");
    }

    /// <summary>FLOPs and energy on one line.</summary>
    public override string ToString() => $"{FormatFlops(Flops)}, {Energy}";
}
