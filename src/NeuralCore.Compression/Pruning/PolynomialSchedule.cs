namespace NeuralCore.Compression.Pruning;

/// <summary>
/// Gradual pruning as Zhu and Gupta (2017), "To prune, or not to prune": from <see cref="BeginStep"/> to
/// <see cref="EndStep"/>, every <see cref="Frequency"/> steps, the sparsity rises as
/// s(t) = s_f + (s_i − s_f)·(1 − (t − t₀)/(t_end − t₀))^p, fast at first while the network can still recover and
/// slowly near the end; the end step always prunes to s_f.
/// </summary>
public sealed class PolynomialSchedule : IPruningSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialSparsity">s_i, the sparsity at <paramref name="beginStep"/>.</param>
    /// <param name="finalSparsity">s_f, reached at <paramref name="endStep"/>.</param>
    /// <param name="beginStep">t₀, the first pruning step.</param>
    /// <param name="endStep">t_end, the last pruning step (after <paramref name="beginStep"/>).</param>
    /// <param name="frequency">Steps between pruning updates.</param>
    /// <param name="power">The exponent p (3 in the paper).</param>
    /// <exception cref="ArgumentOutOfRangeException">A sparsity outside [0, 1], steps out of order, a frequency below 1 or a power not above 0.</exception>
    public PolynomialSchedule(double initialSparsity, double finalSparsity, long beginStep, long endStep, long frequency = 1, double power = 3)
    {
        MagnitudePruner.CheckSparsity(initialSparsity, nameof(initialSparsity));
        MagnitudePruner.CheckSparsity(finalSparsity, nameof(finalSparsity));
        ArgumentOutOfRangeException.ThrowIfNegative(beginStep);
        if (endStep <= beginStep)
            throw new ArgumentOutOfRangeException(nameof(endStep), endStep, $"PolynomialSchedule: endStep must come after beginStep ({beginStep}).");
        ArgumentOutOfRangeException.ThrowIfLessThan(frequency, 1);
        if (!(power > 0)) throw new ArgumentOutOfRangeException(nameof(power), power, "PolynomialSchedule: the power must be positive.");
        (InitialSparsity, FinalSparsity, BeginStep, EndStep, Frequency, Power) = (initialSparsity, finalSparsity, beginStep, endStep, frequency, power);
    }

    /// <summary>s_i.</summary>
    public double InitialSparsity { get; }

    /// <summary>s_f.</summary>
    public double FinalSparsity { get; }

    /// <summary>t₀.</summary>
    public long BeginStep { get; }

    /// <summary>t_end.</summary>
    public long EndStep { get; }

    /// <summary>Steps between updates.</summary>
    public long Frequency { get; }

    /// <summary>The exponent p.</summary>
    public double Power { get; }

    /// <summary>s(t) for any step, clamped to s_i before t₀ and s_f after t_end (whether or not the step prunes).</summary>
    public double Sparsity(long step)
    {
        double progress = Math.Clamp((double)(step - BeginStep) / (EndStep - BeginStep), 0, 1);
        return FinalSparsity + (InitialSparsity - FinalSparsity) * Math.Pow(1 - progress, Power);
    }

    /// <inheritdoc />
    public double? SparsityAt(long step) =>
        step < BeginStep || step > EndStep ? null
        : step == EndStep || (step - BeginStep) % Frequency == 0 ? Sparsity(step)
        : null;
}
