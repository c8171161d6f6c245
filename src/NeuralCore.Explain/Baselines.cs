namespace NeuralCore.Explain;

/// <summary>Baseline handling shared by integrated gradients and the perturbation methods.</summary>
internal static class Baselines
{
    /// <summary>
    /// The baseline expanded to the inputs' shape: null gives zeros; a tensor shaped like the inputs or [1, ...]
    /// (one baseline for every row) is accepted.
    /// </summary>
    public static Tensor Resolve(string op, Tensor inputs, Tensor? baselines)
    {
        if (baselines is null) return Tensor.ZerosLike(inputs);
        var feature = inputs.Shape.ToArray()[1..];
        var given = baselines.Shape.ToArray();
        bool fits = given.Length == inputs.Dim && given[1..].SequenceEqual(feature) && (given[0] == 1 || given[0] == inputs.Shape[0]);
        if (!fits)
            throw new ArgumentException($"{op}: baselines of shape {baselines.Shape} do not fit inputs of shape {inputs.Shape}; use the inputs' shape or [1, ...].");
        if (!baselines.Device.Equals(inputs.Device))
            throw new ArgumentException($"{op}: the baselines are on {baselines.Device}, the inputs on {inputs.Device}.");
        using var _ = Tensor.NoGrad();
        var b = baselines.Detach().To(inputs.DType);
        return given[0] == inputs.Shape[0] ? b : b.Expand(inputs.Shape.ToArray()).Contiguous();
    }

    /// <summary>[rows, 1, 1, ...] with as many trailing ones as the inputs have feature dimensions (for per-row scalars).</summary>
    public static long[] RowShape(Tensor inputs, long rows)
    {
        var s = new long[inputs.Dim];
        Array.Fill(s, 1L);
        s[0] = rows;
        return s;
    }
}
