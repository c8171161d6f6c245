using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// y = x·Wᵀ + b. Shape: input [*, inFeatures], weight [outFeatures, inFeatures], bias [outFeatures],
    /// output [*, outFeatures]. The transposed weight is a view: GEMM reads it in place.
    /// </summary>
    /// <remarks>
    /// An input with weight and bias of its floating dtype on its device runs as one op on its [rows, in] view: one
    /// GEMM into the output, the bias added in place, one graph node whose backward forms dx = dy·W, dW = dyᵀ·x
    /// (dense, in W's layout) and db = Σ dy without transposed copies. Other inputs go through MatMul and an add.
    /// </remarks>
    /// <exception cref="ArgumentException">The feature sizes do not match.</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        if (weight.Dim != 2) throw new ArgumentException($"Linear: weight must be 2-d [out, in], got {weight.Shape}.");
        if (input.Dim == 0 || input.Shape[-1] != weight.Shape[1])
            throw new ArgumentException($"Linear: input {input.Shape} x weight {weight.Shape} (input features must be {weight.Shape[1]}).");
        if (OneLinearOp(input, weight, bias))
        {
            if (input.Dim == 2) return LinearOp(input, weight, bias);
            // [*, in] as [rows, in] (a view when the layout allows it), then back to [*, out].
            long inFeatures = weight.Shape[1];
            if (inFeatures > 0)
            {
                var outShape = input.Shape.ToArray();
                outShape[^1] = weight.Shape[0];
                var flat = input.Reshape(input.NumElements / inFeatures, inFeatures);
                return LinearOp(flat, weight, bias).Reshape(outShape);
            }
        }
        var y = input.MatMul(weight.Transpose(0, 1));
        return bias is null ? y : y + bias;
    }

    static bool OneLinearOp(Tensor input, Tensor weight, Tensor? bias) =>
        input.DType.IsFloatingPoint() && weight.DType == input.DType
        && ReferenceEquals(weight.Backend, input.Backend)
        && (bias is null || (bias.Dim == 1 && bias.Shape[0] == weight.Shape[0] && bias.DType == input.DType
            && ReferenceEquals(bias.Backend, input.Backend)));

    static Tensor LinearOp(Tensor x, Tensor w, Tensor? b)
    {
        var y = LinalgRules.MatMul2d(x, false, w, true);
        if (b is not null && y.NumElements > 0)
        {
            var yv = y.Buf;
            var bv = b.Buf;
            y.Backend.Binary(BinaryOp.Add, yv, new BufferView(bv.Storage, yv.Shape, [0, bv.Strides[0]], bv.Offset), yv);
            FlopCosts.Binary(BinaryOp.Add, yv);
        }
        return Engine.Record(y, LinalgRules.Linear, b is null ? [x, w] : [x, w, b]);
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

    /// <summary>
    /// Channel dropout, as PyTorch's <c>dropout2d</c>: during training each whole channel of an [N, C, H, W] (or
    /// unbatched [C, H, W]) input is zeroed with probability <paramref name="p"/> and the kept channels are scaled
    /// by 1/(1−p); the identity otherwise. The mask comes from <see cref="Rng.Default"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The input is not 3-d or 4-d.</exception>
    public static Tensor Dropout2d(Tensor x, double p = 0.5, bool training = true)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (p < 0 || p > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout2d: p must be in [0, 1], got {p}.");
        if (x.Dim is not (3 or 4)) throw new ArgumentException($"Dropout2d: the input must be [N, C, H, W] or [C, H, W], got shape {x.Shape}.");
        if (!training || p == 0) return x;
        if (p == 1) return x * 0;
        var maskShape = x.Shape.ToArray();
        for (int d = x.Dim - 2; d < x.Dim; d++) maskShape[d] = 1;
        var keep = Tensor.Bernoulli(maskShape, 1 - p, x.DType.ToFloating(), x.Device);
        return x * keep * (1.0 / (1 - p));
    }
}
