using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Evaluates a model for attribution: one scalar output per row (the target column), in chunks of at most
/// <c>maxBatchElements</c> input elements, in evaluation mode and without parameter gradients. Everything stays on
/// the model's device; only the results leave the chunk's tensor scope.
/// </summary>
internal static class ModelRunner
{
    /// <summary>Puts the model in evaluation mode with its parameters' gradients off; disposing restores both.</summary>
    public static IDisposable Prepare(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new Preparation(model);
    }

    sealed class Preparation : IDisposable
    {
        readonly List<(Module Module, bool Training)> modes = [];
        readonly List<Tensor> frozen = [];

        public Preparation(Module model)
        {
            foreach (var (_, m) in model.NamedModules()) modes.Add((m, m.IsTraining));
            model.Eval();
            foreach (var p in model.Parameters())
                if (p.RequiresGrad) { p.RequiresGrad_(false); frozen.Add(p); }
        }

        public void Dispose()
        {
            foreach (var p in frozen) p.RequiresGrad_(true);
            // NamedModules is pre-order, so a child's own mode is restored after its parent's recursive Train.
            foreach (var (m, training) in modes) m.Train(training);
        }
    }

    /// <summary>Checks that <paramref name="inputs"/> is a floating-point batch [N, ...] and the bound is positive.</summary>
    public static void CheckBatch(string op, Tensor inputs, long maxBatchElements)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Dim < 2)
            throw new ArgumentException($"{op}: inputs must be a batch [N, ...] with at least 2 dimensions, got shape {inputs.Shape}.");
        if (inputs.Shape[0] == 0)
            throw new ArgumentException($"{op}: the batch is empty (shape {inputs.Shape}).");
        if (!inputs.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: inputs must be floating point, got {inputs.DType}.");
        if (maxBatchElements < 1)
            throw new ArgumentOutOfRangeException(nameof(maxBatchElements), maxBatchElements, $"{op}: maxBatchElements must be positive.");
    }

    /// <summary>Elements of one row of <paramref name="batch"/> (all dimensions after the first).</summary>
    public static long RowElements(Tensor batch) => batch.NumElements / batch.Shape[0];

    /// <summary>Rows per internal batch so that rows × <paramref name="rowElements"/> stays within the bound (at least one row).</summary>
    public static int RowsPerChunk(long rowElements, long maxBatchElements) =>
        (int)Math.Clamp(maxBatchElements / Math.Max(1, rowElements), 1, int.MaxValue);

    /// <summary>The feature shape of <paramref name="batch"/> with a leading dimension of <paramref name="rows"/>.</summary>
    public static long[] WithRows(Tensor batch, long rows)
    {
        var s = batch.Shape.ToArray();
        s[0] = rows;
        return s;
    }

    /// <summary>The target column of the model's output for <paramref name="batch"/>: shape [rows].</summary>
    public static Tensor TargetOutput(string op, Module model, Tensor batch, int target)
    {
        var y = model.Forward(batch);
        long rows = batch.Shape[0];
        if (y.Dim == 0 || y.Shape[0] != rows)
            throw new InvalidOperationException($"{op}: the model returned shape {y.Shape} for a batch of {rows}; attribution needs one output row per input row.");
        if (y.Dim == 1)
        {
            if (target != 0) throw new ArgumentOutOfRangeException(nameof(target), target, $"{op}: the model returns one value per row (shape {y.Shape}); the target must be 0.");
            return y;
        }
        var flat = y.Reshape(rows, -1);
        long columns = flat.Shape[1];
        if (target < 0 || target >= columns)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"{op}: the target column must be in [0, {columns}) for model output shape {y.Shape}.");
        return flat.Narrow(1, target, 1).Reshape(rows);
    }

    /// <summary>The target output for every row of <paramref name="inputs"/>, shape [N], without gradients.</summary>
    public static Tensor Forward(string op, Module model, Tensor inputs, int target, long maxBatchElements)
    {
        long n = inputs.Shape[0];
        int chunk = RowsPerChunk(RowElements(inputs), maxBatchElements);
        var result = Tensor.Zeros([n], inputs.DType, inputs.Device);
        using var _ = Tensor.NoGrad();
        for (long start = 0; start < n; start += chunk)
        {
            long len = Math.Min(chunk, n - start);
            using var scope = Tensor.Scope();
            result.Narrow(0, start, len).Copy_(TargetOutput(op, model, inputs.Narrow(0, start, len), target));
        }
        return result;
    }

    /// <summary>
    /// d output[target] / d input for every row of <paramref name="inputs"/> (same shape as the inputs). With
    /// <paramref name="outputs"/> given, the target outputs are written there as well.
    /// </summary>
    public static Tensor Gradient(string op, Module model, Tensor inputs, int target, long maxBatchElements, Tensor? outputs = null)
    {
        long n = inputs.Shape[0];
        int chunk = RowsPerChunk(RowElements(inputs), maxBatchElements);
        var result = Tensor.ZerosLike(inputs);
        for (long start = 0; start < n; start += chunk)
        {
            long len = Math.Min(chunk, n - start);
            using var scope = Tensor.Scope();
            var leaf = inputs.Narrow(0, start, len).Contiguous().Detach().RequiresGrad_();
            var y = TargetOutput(op, model, leaf, target);
            if (!y.RequiresGrad)
                throw new InvalidOperationException($"{op}: the model's output does not depend differentiably on its input (no gradient reaches it).");
            y.Sum().Backward();
            using var _ = Tensor.NoGrad();
            var g = leaf.Grad ?? throw new InvalidOperationException($"{op}: no gradient reached the input.");
            result.Narrow(0, start, len).Copy_(g);
            outputs?.Narrow(0, start, len).Copy_(y.Detach());
            leaf.Grad = null;
        }
        return result;
    }

    /// <summary>Reads a small result tensor back as doubles (scores, coalition values: never image-sized data).</summary>
    public static double[] ToDoubles(Tensor t) => t.ToArray<double>();
}
