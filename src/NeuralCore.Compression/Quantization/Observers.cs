using System.Globalization;

namespace NeuralCore.Compression;

/// <summary>How calibration turns observed activations into a quantization range.</summary>
public enum ObserverKind
{
    /// <summary>The smallest and largest value seen (<see cref="MinMaxObserver"/>).</summary>
    MinMax,
    /// <summary>Low and high percentiles of the values seen, ignoring rare outliers (<see cref="PercentileObserver"/>).</summary>
    Percentile,
    /// <summary>The clipping range that minimises the quantization mean squared error (<see cref="MseObserver"/>).</summary>
    Mse,
}

/// <summary>
/// Watches the values flowing through one point of a model (a batch at a time) and proposes the uint8
/// <see cref="QuantParams"/> for it. Non-finite values are ignored.
/// </summary>
public abstract class Observer
{
    /// <summary>Smallest finite value seen (+∞ before any).</summary>
    public float Min { get; private set; } = float.PositiveInfinity;

    /// <summary>Largest finite value seen (−∞ before any).</summary>
    public float Max { get; private set; } = float.NegativeInfinity;

    /// <summary>Number of finite values seen.</summary>
    public long Count { get; private set; }

    /// <summary>Records the values of <paramref name="x"/> (any shape, Float32).</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not Float32.</exception>
    public void Observe(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.DType != DType.Float32)
            throw new ArgumentException($"{GetType().Name}.Observe: expected a Float32 tensor, got {x.DType}.", nameof(x));
        Observe(x.ToArray<float>());
    }

    /// <summary>Records <paramref name="values"/>.</summary>
    public void Observe(ReadOnlySpan<float> values)
    {
        float min = Min, max = Max;
        long count = 0;
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
            count++;
        }
        Min = min;
        Max = max;
        Count += count;
        OnObserve(values);
    }

    /// <summary>Called with every batch after the running min and max are updated.</summary>
    protected virtual void OnObserve(ReadOnlySpan<float> values) { }

    /// <summary>The proposed parameters.</summary>
    /// <exception cref="InvalidOperationException">No finite value has been observed.</exception>
    public QuantParams ComputeParams()
    {
        if (Count == 0)
            throw new InvalidOperationException($"{GetType().Name}: no finite value has been observed; run calibration data through the model first.");
        var (lo, hi) = ComputeRange();
        return QuantParams.FromRange(lo, hi);
    }

    /// <summary>The range to quantize, within [<see cref="Min"/>, <see cref="Max"/>]; called only after values were seen.</summary>
    protected abstract (float Min, float Max) ComputeRange();

    /// <summary>A new observer of the given kind with default settings.</summary>
    public static Observer Create(ObserverKind kind) => kind switch
    {
        ObserverKind.MinMax => new MinMaxObserver(),
        ObserverKind.Percentile => new PercentileObserver(),
        ObserverKind.Mse => new MseObserver(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown observer kind."),
    };
}

/// <summary>The range is exactly [min, max] of everything observed.</summary>
public sealed class MinMaxObserver : Observer
{
    /// <inheritdoc />
    protected override (float Min, float Max) ComputeRange() => (Min, Max);
}

/// <summary>
/// Base of the observers that need the distribution, not just its extremes: keeps a uniform random sample of at most
/// <see cref="SampleCapacity"/> observed values (reservoir sampling with a fixed seed, so calibration is repeatable
/// and memory stays bounded however much data is observed).
/// </summary>
public abstract class SamplingObserver : Observer
{
    readonly float[] reservoir;
    readonly Random random;
    long seen;

    /// <summary>Creates the observer.</summary>
    /// <param name="sampleCapacity">Values kept (at least 16).</param>
    /// <param name="seed">Seed of the sampling.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleCapacity"/> is below 16 or above 2^24.</exception>
    protected SamplingObserver(int sampleCapacity, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleCapacity, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sampleCapacity, 1 << 24);
        reservoir = new float[sampleCapacity];
        random = new Random(seed);
    }

    /// <summary>Maximum number of values kept.</summary>
    public int SampleCapacity => reservoir.Length;

    /// <inheritdoc />
    protected override void OnObserve(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            if (seen < reservoir.Length)
            {
                reservoir[seen++] = v;
                continue;
            }
            long slot = random.NextInt64(++seen);
            if (slot < reservoir.Length) reservoir[slot] = v;
        }
    }

    /// <summary>The kept sample (a copy).</summary>
    protected float[] Sample() => reservoir.AsSpan(0, (int)Math.Min(seen, reservoir.Length)).ToArray();
}

/// <summary>
/// The range runs from the (100 − p)-th to the p-th percentile of the observed values (p = <see cref="Percentile"/>),
/// so a few outliers do not stretch the quantization step for everything else.
/// </summary>
public sealed class PercentileObserver : SamplingObserver
{
    /// <summary>Creates the observer.</summary>
    /// <param name="percentile">The upper percentile, in (50, 100]; 100 is the min-max range of the sample.</param>
    /// <param name="sampleCapacity">Values kept for the estimate.</param>
    /// <param name="seed">Seed of the sampling.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percentile"/> is outside (50, 100].</exception>
    public PercentileObserver(double percentile = 99.99, int sampleCapacity = 1 << 16, int seed = 1) : base(sampleCapacity, seed)
    {
        if (!(percentile > 50 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in (50, 100].");
        Percentile = percentile;
    }

    /// <summary>The upper percentile; the lower one is 100 minus it.</summary>
    public double Percentile { get; }

    /// <inheritdoc />
    protected override (float Min, float Max) ComputeRange()
    {
        var sample = Sample();
        Array.Sort(sample);
        return (At(sample, 100 - Percentile), At(sample, Percentile));
    }

    // Linear interpolation between the closest ranks.
    static float At(float[] sorted, double percentile)
    {
        double rank = percentile / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = Math.Min(lo + 1, sorted.Length - 1);
        return (float)(sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]));
    }
}

/// <summary>
/// Chooses the clipping range that minimises the mean squared error between the observed values and their
/// quantized-then-dequantized copies: the candidates are the min-max range shrunk towards 0 by factors 2^(−i/16),
/// i = 0 … <see cref="Steps"/> − 1, each scored on the kept sample; clipping outliers trades their large error for a
/// finer step everywhere else.
/// </summary>
public sealed class MseObserver : SamplingObserver
{
    /// <summary>Creates the observer.</summary>
    /// <param name="steps">Candidate ranges tried (1 to 1024); 160 reaches down to 1/1024 of the full range.</param>
    /// <param name="sampleCapacity">Values kept for scoring.</param>
    /// <param name="seed">Seed of the sampling.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is outside [1, 1024].</exception>
    public MseObserver(int steps = 160, int sampleCapacity = 1 << 16, int seed = 1) : base(sampleCapacity, seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(steps, 1024);
        Steps = steps;
    }

    /// <summary>Number of candidate ranges.</summary>
    public int Steps { get; }

    /// <summary>The mean squared error of the chosen range on the sample (NaN before <see cref="Observer.ComputeParams"/>).</summary>
    public double ChosenError { get; private set; } = double.NaN;

    /// <inheritdoc />
    protected override (float Min, float Max) ComputeRange()
    {
        var sample = Sample();
        (float, float) best = (Min, Max);
        double bestError = double.PositiveInfinity;
        for (int i = 0; i < Steps; i++)
        {
            float factor = MathF.Pow(2f, -i / 16f);
            float lo = Min * factor, hi = Max * factor;
            var p = QuantParams.FromRange(lo, hi);
            double error = 0;
            foreach (var v in sample)
            {
                double d = v - p.FakeQuantize(v);
                error += d * d;
            }
            if (error < bestError)
            {
                bestError = error;
                best = (lo, hi);
            }
        }
        ChosenError = bestError / Math.Max(sample.Length, 1);
        return best;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"MseObserver(steps: {Steps})");
}
