using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>Normalised, sorted, duplicate-free dimensions; all dimensions when <paramref name="dims"/> is null.</summary>
    internal int[] ReductionDims(int[]? dims, string op)
    {
        if (dims is null)
        {
            var all = new int[Dim];
            for (int i = 0; i < all.Length; i++) all[i] = i;
            return all;
        }
        var set = new SortedSet<int>();
        foreach (var d in dims)
            if (!set.Add(ShapeMath.NormalizeDim(d, Dim, op)))
                throw new ArgumentException($"{op}: dimension {d} appears more than once.");
        if (Dim == 0) return [];
        return set.ToArray();
    }

    /// <summary>
    /// The shape left after reducing <paramref name="dims"/>. An empty input may have sizes whose product exceeds
    /// <see cref="TensorLimits.MaxElements"/> (any product with a 0 is 0); reducing the 0 away would make that product
    /// the result's element count, so the result is checked.
    /// </summary>
    internal int[] ReducedShape(int[] dims, bool keepDim, string op = "Reduce")
    {
        var r = new List<int>();
        for (int i = 0; i < Dim; i++)
        {
            if (Array.IndexOf(dims, i) < 0) r.Add(shape[i]);
            else if (keepDim) r.Add(1);
        }
        var result = r.ToArray();
        if (!ShapeMath.FitsElements(result))
            throw ShapeMath.TooManyElements(op, result, $"reducing dimension(s) [{string.Join(", ", dims)}] of {Shape}");
        return result;
    }

    /// <summary>Runs a backend reduction over <paramref name="dims"/> (sorted), without autograd.</summary>
    internal Tensor ReduceRaw(ReduceOp op, int[] dims, bool keepDim, DType resultType)
    {
        var src = DType == resultType || op is ReduceOp.ArgMax or ReduceOp.ArgMin ? this : CastRaw(resultType);
        // Move the reduced dimensions to the end (a view) so the backend reduces trailing dimensions.
        var order = new int[Dim];
        int k = 0;
        for (int i = 0; i < Dim; i++) if (Array.IndexOf(dims, i) < 0) order[k++] = i;
        foreach (var d in dims) order[k++] = d;
        var ps = new int[Dim];
        var pst = new int[Dim];
        for (int i = 0; i < Dim; i++)
        {
            ps[i] = src.shape[order[i]];
            pst[i] = src.strides[order[i]];
        }
        var outType = op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.Int64 : resultType;
        var r = Empty(ReducedShape(dims, keepDim, op.ToString()), outType, Backend, op.ToString());
        Backend.Reduce(op, src.Buf.With(ps, pst), dims.Length, r.Buf);
        FlopCosts.Reduce(op, src.Buf);
        return r;
    }

    static DType SumType(DType d) => d.IsFloatingPoint() ? d : DType.Int64;

    /// <summary>Sum of all elements (0-d). Integer and Bool tensors sum to Int64.</summary>
    public Tensor Sum() => Sum(null, false);

    /// <summary>Sum over dimension <paramref name="dim"/>.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Sum over <paramref name="dims"/> (all when null).</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        var d = ReductionDims(dims, nameof(Sum));
        var r = ReduceRaw(ReduceOp.Sum, d, keepDim, SumType(DType));
        return Engine.Record(r, ReductionRules.Sum, [this], ints: keepDim ? [] : d);
    }

    /// <summary>Mean of all elements (0-d). Integer inputs compute in Float32.</summary>
    public Tensor Mean() => Mean(null, false);

    /// <summary>Mean over dimension <paramref name="dim"/>.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Mean over <paramref name="dims"/> (all when null).</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        var d = ReductionDims(dims, nameof(Mean));
        ReducedShape(d, keepDim, nameof(Mean));
        long count = 1;
        foreach (var i in d) count = ShapeMath.MulSaturating(count, shape[i]);
        var x = DType.IsFloatingPoint() ? this : To(DType.Float32);
        return x.Sum(d, keepDim).Div(count == 0 ? double.NaN : count);
    }

    /// <summary>Maximum of all elements (0-d). The gradient is shared evenly among tied maxima.</summary>
    public Tensor Max() => ExtremeAll(ReduceOp.Max);

    /// <summary>Minimum of all elements (0-d). The gradient is shared evenly among tied minima.</summary>
    public Tensor Min() => ExtremeAll(ReduceOp.Min);

    Tensor ExtremeAll(ReduceOp op)
    {
        RequireNonEmpty(op.ToString());
        var r = ReduceRaw(op, ReductionDims(null, op.ToString()), false, DType);
        return Engine.Record(r, ReductionRules.ExtremeAll, [this], saveOutput: true);
    }

    /// <summary>Maximum values along <paramref name="dim"/> (use <see cref="ArgMax"/> for the indices). The gradient goes to the first maximum.</summary>
    public Tensor Max(int dim, bool keepDim = false) => ExtremeAlong(dim, keepDim, ReduceOp.ArgMax).Values;

    /// <summary>Minimum values along <paramref name="dim"/> (use <see cref="ArgMin"/> for the indices). The gradient goes to the first minimum.</summary>
    public Tensor Min(int dim, bool keepDim = false) => ExtremeAlong(dim, keepDim, ReduceOp.ArgMin).Values;

    (Tensor Values, Tensor Indices) ExtremeAlong(int dim, bool keepDim, ReduceOp argOp)
    {
        string name = argOp == ReduceOp.ArgMax ? "Max" : "Min";
        RequireNonEmpty(name);
        if (Dim == 0)
        {
            ShapeMath.NormalizeDim(dim, 1, name);
            return (Engine.Record(CopyRaw(), MovementRules.Identity, [this]), Scalar(0, DType.Int64, Device));
        }
        int d = ShapeMath.NormalizeDim(dim, Dim, name);
        var index = ReduceRaw(argOp, [d], true, DType);
        var values = GatherRaw(d, index);
        var reduced = ReducedShape([d], false);
        if (!keepDim) values = values.AsStrided(reduced, ShapeMath.ContiguousStrides(reduced), 0);
        var indices = keepDim ? index : index.AsStrided(reduced, ShapeMath.ContiguousStrides(reduced), 0);
        return (Engine.Record(values, ReductionRules.ExtremeAlong, [this], ints: [d, keepDim ? 1 : 0], saved: index), indices);
    }

    void RequireNonEmpty(string op)
    {
        if (NumElements == 0) throw new ArgumentException($"{op}: the tensor is empty (shape {Shape}); the reduction has no identity.");
    }

    /// <summary>Index of the maximum: over the flattened tensor (0-d) or along <paramref name="dim"/>. Int64; the first occurrence wins.</summary>
    public Tensor ArgMax(int? dim = null, bool keepDim = false) => ArgExtreme(ReduceOp.ArgMax, dim, keepDim);

    /// <summary>Index of the minimum: over the flattened tensor (0-d) or along <paramref name="dim"/>. Int64; the first occurrence wins.</summary>
    public Tensor ArgMin(int? dim = null, bool keepDim = false) => ArgExtreme(ReduceOp.ArgMin, dim, keepDim);

    Tensor ArgExtreme(ReduceOp op, int? dim, bool keepDim)
    {
        RequireNonEmpty(op.ToString());
        if (dim is null)
        {
            var flat = ContiguousRaw().AsStrided([(int)NumElements], [1], 0);
            var r = flat.ReduceRaw(op, [0], false, DType);
            return keepDim ? r.AsStrided(Enumerable.Repeat(1, Dim).ToArray(), new int[Dim], 0) : r;
        }
        if (Dim == 0) return Scalar(0, DType.Int64, Device);
        return ReduceRaw(op, [ShapeMath.NormalizeDim(dim.Value, Dim, op.ToString())], keepDim, DType);
    }

    /// <summary>Variance over all elements, or along <paramref name="dim"/>; Bessel-corrected unless <paramref name="unbiased"/> is false.</summary>
    public Tensor Var(int? dim = null, bool keepDim = false, bool unbiased = true) =>
        Var(dim is null ? null : [dim.Value], keepDim, unbiased);

    /// <summary>Variance over <paramref name="dims"/> (all when null).</summary>
    public Tensor Var(int[]? dims, bool keepDim = false, bool unbiased = true)
    {
        var d = ReductionDims(dims, nameof(Var));
        long n = 1;
        foreach (var i in d) n *= shape[i];
        var x = DType.IsFloatingPoint() ? this : To(DType.Float32);
        var centered = x - x.Mean(d, keepDim: true);
        long denominator = unbiased ? n - 1 : n;
        return centered.Square().Sum(d, keepDim).Div(denominator <= 0 ? double.NaN : denominator);
    }

    /// <summary>Standard deviation: the square root of <see cref="Var(int?, bool, bool)"/>.</summary>
    public Tensor Std(int? dim = null, bool keepDim = false, bool unbiased = true) => Var(dim, keepDim, unbiased).Sqrt();

    // The maxima along dim that keep exp() in range. An empty tensor has none (Max would throw), and any shift of
    // the right shape gives the same empty or −∞ result, so its zero sums stand in, as PyTorch returns empty/−∞.
    Tensor StabilizingShift(int dim) => (NumElements == 0 ? Sum(dim, keepDim: true) : Max(dim, keepDim: true)).Detach();

    /// <summary>log Σ exp(x) along <paramref name="dim"/>, computed stably by shifting by the maximum.</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false)
    {
        var m = StabilizingShift(dim);
        var r = (this - m).Exp().Sum(dim, keepDim: true).Log() + m;
        return keepDim ? r : r.Squeeze(dim);
    }

    /// <summary>Softmax along <paramref name="dim"/>: exp(x − max) / Σ exp(x − max). Rows sum to 1.</summary>
    public Tensor Softmax(int dim)
    {
        var x = DType.IsFloatingPoint() ? this : To(DType.Float32);
        var e = (x - x.StabilizingShift(dim)).Exp();
        return e / e.Sum(dim, keepDim: true);
    }

    /// <summary>log(softmax(x)) along <paramref name="dim"/>, computed as x − max − log Σ exp(x − max).</summary>
    public Tensor LogSoftmax(int dim)
    {
        var x = DType.IsFloatingPoint() ? this : To(DType.Float32);
        var shifted = x - x.StabilizingShift(dim);
        return shifted - shifted.Exp().Sum(dim, keepDim: true).Log();
    }

    /// <summary>True (a 0-d Bool tensor) when every element is non-zero; true for an empty tensor.</summary>
    public Tensor All() => Eq(0).Sum().Eq(0);

    /// <summary>True (a 0-d Bool tensor) when some element is non-zero; false for an empty tensor.</summary>
    public Tensor Any() => Ne(0).Sum().Gt(0);
}
