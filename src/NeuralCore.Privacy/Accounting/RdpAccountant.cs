using System.Globalization;

namespace NeuralCore.Privacy.Accounting;

/// <summary>How Rényi-DP guarantees are turned into an (ε, δ) guarantee.</summary>
public enum RdpConversion
{
    /// <summary>
    /// The conversion of Balle et al. 2020 ("Hypothesis Testing Interpretations and Rényi Differential Privacy",
    /// Theorem 21): ε = ρ(α) + log((α − 1)/α) − (log δ + log α)/(α − 1). Opacus and TensorFlow Privacy use it
    /// today; it is never worse than <see cref="Classic"/>.
    /// </summary>
    Improved,

    /// <summary>Mironov 2017, Proposition 3: ε = ρ(α) + log(1/δ)/(α − 1); the conversion TensorFlow Privacy used
    /// until 2020 (its published MNIST tutorial figures were computed with it).</summary>
    Classic,
}

/// <summary>
/// Privacy accountant for DP-SGD and DP-FedAvg: composes the Rényi-DP of Poisson-subsampled Gaussian mechanism
/// steps (sampling rate q, noise multiplier σ = noise std / sensitivity) over a fixed set of orders α, and
/// converts the total to (ε, δ)-DP by minimizing over the orders. Steps with different (σ, q) compose by adding
/// their RDP curves.
/// </summary>
/// <example>
/// <code>
/// var accountant = new RdpAccountant();
/// accountant.Step(noiseMultiplier: 1.1, sampleRate: 256.0 / 60000, steps: 14063);
/// double epsilon = accountant.GetEpsilon(delta: 1e-5);
/// </code>
/// </example>
public sealed class RdpAccountant
{
    /// <summary>The default orders, as Opacus and TensorFlow Privacy: 1.1, 1.2, …, 10.9, then 12, 13, …, 63.</summary>
    public static IReadOnlyList<double> DefaultOrders { get; } =
        Enumerable.Range(1, 99).Select(x => 1 + x / 10.0).Concat(Enumerable.Range(12, 52).Select(x => (double)x)).ToArray();

    readonly double[] orders;
    readonly double[] rdp;
    readonly List<(double NoiseMultiplier, double SampleRate, long Steps)> history = [];
    // One step's RDP at the last (σ, q): DP-SGD records thousands of steps of the same mechanism.
    (double NoiseMultiplier, double SampleRate, double[] Rdp)? lastStep;

    /// <summary>Creates an accountant with no steps recorded.</summary>
    /// <param name="orders">The Rényi orders α to track (each &gt; 1); <see cref="DefaultOrders"/> when null.</param>
    /// <exception cref="ArgumentException">An order is not a finite number above 1, or the list is empty.</exception>
    public RdpAccountant(IEnumerable<double>? orders = null)
    {
        this.orders = (orders ?? DefaultOrders).ToArray();
        CheckOrders(this.orders);
        rdp = new double[this.orders.Length];
    }

    /// <summary>The orders tracked.</summary>
    public IReadOnlyList<double> Orders => orders;

    /// <summary>The recorded mechanism runs: (σ, q, steps), consecutive runs with equal σ and q merged.</summary>
    public IReadOnlyList<(double NoiseMultiplier, double SampleRate, long Steps)> History => history;

    /// <summary>Total steps recorded.</summary>
    public long TotalSteps => history.Sum(h => h.Steps);

    /// <summary>Records <paramref name="steps"/> steps of the subsampled Gaussian mechanism.</summary>
    /// <param name="noiseMultiplier">σ: the noise standard deviation divided by the L2 sensitivity (clipping norm); ≥ 0.</param>
    /// <param name="sampleRate">q: the probability that each record is in a batch (Poisson sampling), in [0, 1].</param>
    /// <param name="steps">How many steps; ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range or NaN.</exception>
    public void Step(double noiseMultiplier, double sampleRate, long steps = 1)
    {
        CheckMechanism(noiseMultiplier, sampleRate, steps);
        if (steps == 0) return;
        if (lastStep is not { } last || last.NoiseMultiplier != noiseMultiplier || last.SampleRate != sampleRate)
            lastStep = last = (noiseMultiplier, sampleRate, ComputeRdp(noiseMultiplier, sampleRate, 1, orders));
        var one = last.Rdp;
        for (int i = 0; i < rdp.Length; i++) rdp[i] += one[i] * steps;
        if (history.Count > 0 && history[^1].NoiseMultiplier == noiseMultiplier && history[^1].SampleRate == sampleRate)
            history[^1] = (noiseMultiplier, sampleRate, history[^1].Steps + steps);
        else history.Add((noiseMultiplier, sampleRate, steps));
    }

    /// <summary>The accumulated RDP ρ(α) at each of <see cref="Orders"/>.</summary>
    public IReadOnlyList<double> Rdp => rdp;

    /// <summary>The ε of the steps so far at <paramref name="delta"/> (0 before any step).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not in (0, 1).</exception>
    public double GetEpsilon(double delta, RdpConversion conversion = RdpConversion.Improved) =>
        GetPrivacySpent(delta, conversion).Epsilon;

    /// <summary>The ε of the steps so far at <paramref name="delta"/>, with the order α that gave it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not in (0, 1).</exception>
    public (double Epsilon, double BestOrder) GetPrivacySpent(double delta, RdpConversion conversion = RdpConversion.Improved) =>
        EpsilonFromRdp(orders, rdp, delta, conversion) is var spent && history.Count > 0 ? spent : (0, double.NaN);

    /// <summary>The RDP ρ(α) of <paramref name="steps"/> steps of the subsampled Gaussian mechanism at each order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">σ, q or the step count is out of range.</exception>
    /// <exception cref="ArgumentException">An order is not a finite number above 1.</exception>
    public static double[] ComputeRdp(double noiseMultiplier, double sampleRate, long steps, IReadOnlyList<double> orders)
    {
        ArgumentNullException.ThrowIfNull(orders);
        CheckMechanism(noiseMultiplier, sampleRate, steps);
        CheckOrders(orders);
        var result = new double[orders.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = steps == 0 ? 0 : RdpMath.StepRdp(sampleRate, noiseMultiplier, orders[i]) * steps;
        return result;
    }

    /// <summary>Converts RDP guarantees ρ(α) to (ε, δ)-DP: the smallest ε over the orders, with its order.</summary>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not in (0, 1).</exception>
    public static (double Epsilon, double BestOrder) EpsilonFromRdp(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta,
        RdpConversion conversion = RdpConversion.Improved)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(rdp);
        if (orders.Count != rdp.Count || orders.Count == 0)
            throw new ArgumentException($"EpsilonFromRdp: got {orders.Count} orders and {rdp.Count} RDP values; they must match and be non-empty.");
        if (!(delta > 0 && delta < 1))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "EpsilonFromRdp: delta must be in (0, 1).");
        double best = double.PositiveInfinity, bestOrder = double.NaN;
        double logDelta = Math.Log(delta);
        for (int i = 0; i < orders.Count; i++)
        {
            double a = orders[i], r = rdp[i];
            if (double.IsNaN(r) || double.IsPositiveInfinity(r)) continue;
            double eps = conversion == RdpConversion.Classic
                ? r - logDelta / (a - 1)
                : r + Math.Log((a - 1) / a) - (logDelta + Math.Log(a)) / (a - 1);
            if (eps < best)
            {
                best = eps;
                bestOrder = a;
            }
        }
        return (Math.Max(best, 0), bestOrder);
    }

    /// <summary>
    /// The smallest noise multiplier σ (to a relative precision of 1e−4) for which <paramref name="steps"/> steps at
    /// sampling rate <paramref name="sampleRate"/> are (<paramref name="targetEpsilon"/>, <paramref name="delta"/>)-DP;
    /// the ε it gives is at most the target.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">Even σ = 10⁴ does not reach the target (it is too small for that many steps).</exception>
    public static double Calibrate(double targetEpsilon, double delta, double sampleRate, long steps,
        IReadOnlyList<double>? orders = null, RdpConversion conversion = RdpConversion.Improved)
    {
        if (!(targetEpsilon > 0) || double.IsPositiveInfinity(targetEpsilon))
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon, "Calibrate: the target epsilon must be a positive finite number.");
        if (!(delta > 0 && delta < 1))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "Calibrate: delta must be in (0, 1).");
        CheckMechanism(1, sampleRate, steps);
        if (steps == 0 || sampleRate == 0) return 0;
        orders ??= DefaultOrders;
        double Eps(double sigma) => EpsilonFromRdp(orders, ComputeRdp(sigma, sampleRate, steps, orders), delta, conversion).Epsilon;
        double lo = 0, hi = 1;
        while (Eps(hi) > targetEpsilon)
        {
            lo = hi;
            hi *= 2;
            if (hi > 1e4)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Calibrate: no noise multiplier up to 1e4 gives epsilon {targetEpsilon} at delta {delta} for {steps} steps at sampling rate {sampleRate}."));
        }
        while (hi - lo > 1e-4 * hi)
        {
            double mid = 0.5 * (lo + hi);
            if (Eps(mid) > targetEpsilon) lo = mid;
            else hi = mid;
        }
        return hi;
    }

    static void CheckMechanism(double noiseMultiplier, double sampleRate, long steps)
    {
        if (!(noiseMultiplier >= 0) || double.IsPositiveInfinity(noiseMultiplier))
            throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "RdpAccountant: the noise multiplier must be a finite number >= 0.");
        if (!(sampleRate >= 0 && sampleRate <= 1))
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "RdpAccountant: the sampling rate must be in [0, 1].");
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
    }

    static void CheckOrders(IReadOnlyList<double> orders)
    {
        if (orders.Count == 0) throw new ArgumentException("RdpAccountant: the list of orders is empty.", nameof(orders));
        foreach (var a in orders)
            if (!(a > 1) || double.IsInfinity(a))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"RdpAccountant: every order must be a finite number above 1, got {a}."), nameof(orders));
    }
}
