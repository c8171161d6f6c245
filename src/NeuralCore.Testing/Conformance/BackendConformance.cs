namespace NeuralCore.Testing;

/// <summary>
/// The conformance suite every backend must pass: each registered op, dtype and sample is run on the device
/// under test and on the CPU reference backend, and the results (values, dtype, shape, device) and, for
/// differentiable floating ops, the input gradients must agree within the op's tolerances. It depends on no
/// test framework: a test project subclasses it once per device and turns the failure lists into asserts.
/// </summary>
public abstract partial class BackendConformance
{
    /// <summary>Creates the suite for <paramref name="device"/>.</summary>
    protected BackendConformance(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
    }

    /// <summary>The device (backend) under test.</summary>
    public Device Device { get; }

    /// <summary>The device results are compared with: the CPU backend.</summary>
    public static Device Reference => Device.Cpu;

    /// <summary>Why the suite cannot run here (no such device on this machine), or null when it can.</summary>
    public virtual string? SkipReason => null;

    /// <summary>Runs every dtype and sample of <paramref name="spec"/>; returns one line per failure (none when the backend conforms).</summary>
    public IEnumerable<string> Run(OpSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var dtype in spec.DTypes)
            foreach (var sample in spec.Samples(dtype))
                foreach (var failure in RunSample(spec, sample))
                    yield return $"{spec.Name}|{dtype}|{sample.Description}: {failure}";
    }

    /// <summary>Runs one sample on both devices; returns what differs.</summary>
    public IEnumerable<string> RunSample(OpSpec spec, SampleInput sample)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(sample);
        var failures = new List<string>();
        Tensor expected, actual;
        try
        {
            expected = spec.Forward(sample.Inputs, sample);
        }
        catch (Exception e)
        {
            failures.Add($"the reference backend threw {e.GetType().Name}: {e.Message}");
            return failures;
        }
        try
        {
            actual = spec.Forward(Array.ConvertAll(sample.Inputs, t => t.To(Device)), sample);
        }
        catch (Exception e)
        {
            failures.Add($"{Device} threw {e.GetType().Name}: {e.Message}");
            return failures;
        }
        if (!actual.Device.Equals(Device)) failures.Add($"the result is on {actual.Device}, expected {Device}");
        var tolerance = spec.Tolerances.For(expected.DType);
        if (ResultCheck.Mismatch(actual, expected, tolerance) is { } forward) failures.Add($"forward: {forward}");
        if (failures.Count == 0 && spec.Differentiable && expected.DType.IsFloatingPoint() && expected.NumElements > 0)
            failures.AddRange(CompareGradients(spec, sample, tolerance));
        return failures;
    }

    // Backpropagates the same weighted sum on both devices, so every output element gets a distinct weight and a
    // wrong routing of gradients cannot cancel out.
    IEnumerable<string> CompareGradients(OpSpec spec, SampleInput sample, Tolerance tolerance)
    {
        var reference = Gradients(spec, sample, Reference);
        var device = Gradients(spec, sample, Device);
        for (int i = 0; i < reference.Length; i++)
        {
            if (reference[i] is null && device[i] is null) continue;
            if (reference[i] is null || device[i] is null)
            {
                yield return $"gradient of input {i} is {(device[i] is null ? "missing" : "present")} on {Device} but not on {Reference}";
                continue;
            }
            if (ResultCheck.Mismatch(device[i]!, reference[i]!, GradientTolerance(tolerance, reference[i]!.DType)) is { } m) yield return $"gradient of input {i}: {m}";
        }
    }

    // Gradients are sums (a broadcast or gathered element collects contributions from several outputs), and
    // backends may add them in different orders (tree reductions, atomics). An op whose forward must be exact
    // therefore still gets a few units of rounding on its gradients: 8 ulps relative.
    static Tolerance GradientTolerance(Tolerance forward, DType dtype) => forward.Atol > 0 || forward.Rtol > 0 ? forward
        : new Tolerance(0, 8 * (dtype == DType.Float64 ? Math.ScaleB(1, -52) : Math.ScaleB(1, -23)));

    static Tensor?[] Gradients(OpSpec spec, SampleInput sample, Device device)
    {
        var leaves = Array.ConvertAll(sample.Inputs, t =>
            t.DType.IsFloatingPoint() ? t.To(device).Clone().RequiresGrad_() : t.To(device));
        var output = spec.Forward(leaves, sample);
        if (!output.RequiresGrad) return new Tensor?[leaves.Length];
        output.Mul(OutputWeights(output)).Sum().Backward();
        return Array.ConvertAll(leaves, l => l.RequiresGrad ? l.Grad : null);
    }

    // A distinct weight per output element (1/n, 2/n, ..., 1) on the output's device, for the weighted sum that is
    // backpropagated: a gradient routed to the wrong element cannot cancel out.
    static Tensor OutputWeights(Tensor output) =>
        Tensor.Arange(1, output.NumElements + 1, 1, output.DType).Div(output.NumElements).Reshape(output.Shape.ToArray()).To(output.Device);
}
