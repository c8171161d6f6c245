namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// y = x·Wᵀ + b. Shape: input [*, inFeatures], weight [outFeatures, inFeatures], bias [outFeatures],
    /// output [*, outFeatures]. The transposed weight is a view: GEMM reads it in place.
    /// </summary>
    /// <exception cref="ArgumentException">The feature sizes do not match.</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        if (weight.Dim != 2) throw new ArgumentException($"Linear: weight must be 2-d [out, in], got {weight.Shape}.");
        if (input.Dim == 0 || input.Shape[-1] != weight.Shape[1])
            throw new ArgumentException($"Linear: input {input.Shape} x weight {weight.Shape} (input features must be {weight.Shape[1]}).");
        var y = input.MatMul(weight.Transpose(0, 1));
        return bias is null ? y : y + bias;
    }

    /// <summary>
    /// Zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1−p) during training;
    /// the identity otherwise. The mask comes from <see cref="Rng.Default"/>, so runs are reproducible.
    /// </summary>
    public static Tensor Dropout(Tensor x, double p = 0.5, bool training = true)
    {
        if (p < 0 || p > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: p must be in [0, 1], got {p}.");
        if (!training || p == 0) return x;
        if (p == 1) return x * 0;
        var keep = Tensor.Bernoulli(x.Shape.ToArray(), 1 - p, x.DType.ToFloating(), x.Device);
        return x * keep * (1.0 / (1 - p));
    }
}
