namespace NeuralCore.Testing;

/// <summary>Specs of reductions and the softmax family. Samples carry the reduced dimensions in <see cref="SampleInput.Ints"/>.</summary>
internal static class ReductionSpecs
{
    static readonly DType[] Floats = ElementwiseSpecs.Floats;
    static readonly DType[] Numeric = ElementwiseSpecs.Numeric;
    static readonly DType[] NumericAndBool = ElementwiseSpecs.AllTypes;

    // Max/min/argmax need a unique extreme for GradCheck (a tie splits or moves the gradient): distinct values.
    static readonly ValueDomain Distinct = ValueDomain.Standard with { Distinct = true };

    public static IEnumerable<OpSpec> All()
    {
        var acc = OpTolerances.Accumulating;
        yield return Spec("Sum", (x, s) => x.Sum(), x => x.Reduce(null, false, g => g.Sum(), PyTorchTypes.SumOf(x.DType)), NumericAndBool, Full);
        yield return Spec("Sum.dim", (x, s) => x.Sum(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.Sum(), PyTorchTypes.SumOf(x.DType)), NumericAndBool, AlongDim);
        yield return Spec("Sum.dims", (x, s) => x.Sum(s.Ints, s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.Sum(), PyTorchTypes.SumOf(x.DType)), NumericAndBool, AlongDims);
        // Mean of an integer tensor is Float32: NeuralCore's documented choice (PyTorch refuses integer means).
        yield return Spec("Mean", (x, s) => x.Mean(), x => x.Reduce(null, false, Mean, PyTorchTypes.Floating(x.DType)), Numeric, Full);
        yield return Spec("Mean.dim", (x, s) => x.Mean(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, Mean, PyTorchTypes.Floating(x.DType)), Numeric, AlongDim);
        yield return Spec("Mean.dims", (x, s) => x.Mean(s.Ints, s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, Mean, PyTorchTypes.Floating(x.DType)), Numeric, AlongDims);
        yield return Spec("Max", (x, s) => x.Max(), x => x.Reduce(null, false, g => g.Max(), x.DType), NumericAndBool, FullNonEmpty, exact: true);
        yield return Spec("Min", (x, s) => x.Min(), x => x.Reduce(null, false, g => g.Min(), x.DType), NumericAndBool, FullNonEmpty, exact: true);
        yield return Spec("Max.dim", (x, s) => x.Max(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.Max(), x.DType), NumericAndBool, AlongDimNonEmpty, exact: true);
        yield return Spec("Min.dim", (x, s) => x.Min(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.Min(), x.DType), NumericAndBool, AlongDimNonEmpty, exact: true);
        yield return Spec("ArgMax", (x, s) => x.ArgMax(), x => x.Reduce(null, false, g => g.IndexOf(g.Max()), DType.Int64), Numeric, FullNonEmpty, differentiable: false);
        yield return Spec("ArgMin", (x, s) => x.ArgMin(), x => x.Reduce(null, false, g => g.IndexOf(g.Min()), DType.Int64), Numeric, FullNonEmpty, differentiable: false);
        yield return Spec("ArgMax.dim", (x, s) => x.ArgMax(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.IndexOf(g.Max()), DType.Int64), Numeric, AlongDimNonEmpty, differentiable: false);
        yield return Spec("ArgMin.dim", (x, s) => x.ArgMin(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.IndexOf(g.Min()), DType.Int64), Numeric, AlongDimNonEmpty, differentiable: false);
        yield return Spec("Var", (x, s) => x.Var(), x => x.Reduce(null, false, g => Variance(g, 1), x.DType), Floats, Full, acc);
        yield return Spec("Var.biased", (x, s) => x.Var(unbiased: false), x => x.Reduce(null, false, g => Variance(g, 0), x.DType), Floats, Full, acc);
        yield return Spec("Var.dim", (x, s) => x.Var(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => Variance(g, 1), x.DType), Floats, AlongDim, acc);
        yield return Spec("Std", (x, s) => x.Std(), x => x.Reduce(null, false, g => Math.Sqrt(Variance(g, 1)), x.DType), Floats, SqrtKink(Full), acc);
        yield return Spec("Std.dim.biased", (x, s) => x.Std(s.Ints[0], s.KeepDim, unbiased: false), (x, s) => x.Reduce(s.Ints, s.KeepDim, g => Math.Sqrt(Variance(g, 0)), x.DType), Floats, SqrtKink(AlongDim), acc);
        yield return Spec("LogSumExp", (x, s) => x.LogSumExp(s.Ints[0], s.KeepDim), (x, s) => x.Reduce(s.Ints, s.KeepDim, LogSumExp, x.DType), Floats, AlongDim, acc);
        yield return Spec("Softmax", (x, s) => x.Softmax(s.Ints[0]), (x, s) => Softmax(x, s.Ints[0], log: false), Floats, AlongDim, acc);
        yield return Spec("LogSoftmax", (x, s) => x.LogSoftmax(s.Ints[0]), (x, s) => Softmax(x, s.Ints[0], log: true), Floats, AlongDim, acc);
    }

    // The biased standard deviation of one element is √0, where the square root has no derivative (PyTorch's
    // gradient is NaN there too): such samples are kept for the forward checks only.
    static Func<DType, Generator, ValueDomain, IEnumerable<SampleInput>> SqrtKink(Func<DType, Generator, ValueDomain, IEnumerable<SampleInput>> samples) =>
        (dtype, rng, d) => samples(dtype, rng, d).Select(s => s.Inputs[0].NumElements != 1 ? s
            : new SampleInput(s.Description, s.Inputs) { Ints = s.Ints, KeepDim = s.KeepDim, NotDifferentiableReason = "std of a single element is sqrt(0)" });

    static double Mean(List<double> g) => g.Count == 0 ? double.NaN : g.Sum() / g.Count;

    static double Variance(List<double> g, int correction)
    {
        if (g.Count - correction <= 0) return double.NaN;
        double m = g.Sum() / g.Count;
        return g.Sum(v => (v - m) * (v - m)) / (g.Count - correction);
    }

    static double LogSumExp(List<double> g) => g.Count == 0 ? double.NegativeInfinity : Math.Log(g.Sum(Math.Exp));

    // softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along dim, straight from the definition (inputs are small, no overflow).
    static RefTensor Softmax(RefTensor x, int dim, bool log)
    {
        int d = x.Rank == 0 ? 0 : (dim + x.Rank) % x.Rank;
        return RefTensor.Generate(x.Shape, x.DType, i =>
        {
            double denominator = 0;
            int size = x.Rank == 0 ? 1 : x.Shape[d];
            for (int k = 0; k < size; k++)
            {
                var j = (int[])i.Clone();
                if (x.Rank > 0) j[d] = k;
                denominator += Math.Exp(x[j]);
            }
            return log ? x[i] - Math.Log(denominator) : Math.Exp(x[i]) / denominator;
        });
    }

    static OpSpec Spec(string name, Func<Tensor, SampleInput, Tensor> op, Func<RefTensor, RefTensor> reference, DType[] dtypes,
        Func<DType, Generator, ValueDomain, IEnumerable<SampleInput>> samples, OpTolerances? tolerances = null, bool exact = false, bool differentiable = true) =>
        Spec(name, op, (x, _) => reference(x), dtypes, samples, tolerances, exact, differentiable);

    static OpSpec Spec(string name, Func<Tensor, SampleInput, Tensor> op, Func<RefTensor, SampleInput, RefTensor> reference, DType[] dtypes,
        Func<DType, Generator, ValueDomain, IEnumerable<SampleInput>> samples, OpTolerances? tolerances = null, bool exact = false, bool differentiable = true) => new()
        {
            Name = name,
            Arity = 1,
            Forward = (x, s) => op(x[0], s),
            Reference = (x, s) => reference(x[0], s),
            DTypes = dtypes,
            Differentiable = differentiable,
            // Max/min select an element, so they are exact; everything else accumulates rounding.
            Tolerances = exact ? OpTolerances.Exact : tolerances ?? OpTolerances.Accumulating,
            SampleGenerator = (dtype, rng) => samples(dtype, rng, exact || !differentiable ? Distinct : ValueDomain.Standard),
        };

    static Tensor M(DType dtype, Generator rng, ValueDomain d, int[] shape, SampleLayout l = SampleLayout.Contiguous) =>
        SampleTensors.Make(shape, dtype, rng, d, l);

    static IEnumerable<SampleInput> Full(DType dtype, Generator rng, ValueDomain d)
    {
        yield return new("empty-0", [M(dtype, rng, d, [0])]);
        yield return new("empty-2x0", [M(dtype, rng, d, [2, 0])]);
        foreach (var s in FullNonEmpty(dtype, rng, d)) yield return s;
    }

    static IEnumerable<SampleInput> FullNonEmpty(DType dtype, Generator rng, ValueDomain d)
    {
        yield return new("0d", [M(dtype, rng, d, [])]);
        foreach (var n in SampleSets.EdgeLengths) yield return new($"len{n}", [M(dtype, rng, d, [n])]);
        yield return new("3d-2x3x4", [M(dtype, rng, d, [2, 3, 4])]);
        yield return new("noncontig-transposed", [M(dtype, rng, d, [4, 6], SampleLayout.Transposed)]);
        yield return new("noncontig-narrowed", [M(dtype, rng, d, [3, 5], SampleLayout.Narrowed)]);
        yield return new("noncontig-permuted", [M(dtype, rng, d, [2, 3, 4], SampleLayout.Permuted)]);
    }

    internal static IEnumerable<SampleInput> AlongDim(DType dtype, Generator rng, ValueDomain d)
    {
        yield return new("empty-2x0-dim1", [M(dtype, rng, d, [2, 0])]) { Ints = [1] };
        yield return new("empty-0x3-dim1", [M(dtype, rng, d, [0, 3])]) { Ints = [1] };
        foreach (var s in AlongDimNonEmpty(dtype, rng, d)) yield return s;
    }

    internal static IEnumerable<SampleInput> AlongDimNonEmpty(DType dtype, Generator rng, ValueDomain d)
    {
        yield return new("0d-dim0", [M(dtype, rng, d, [])]) { Ints = [0] };
        foreach (var n in new[] { 1, 7, 17, 33, 1000 }) yield return new($"len{n}-dim0", [M(dtype, rng, d, [n])]) { Ints = [0] };
        yield return new("2d-3x5-dim0", [M(dtype, rng, d, [3, 5])]) { Ints = [0] };
        yield return new("2d-3x5-dim1-keepDim", [M(dtype, rng, d, [3, 5])]) { Ints = [1], KeepDim = true };
        yield return new("3d-2x3x4-dim-2", [M(dtype, rng, d, [2, 3, 4])]) { Ints = [-2] };
        yield return new("3d-2x3x4-dim2-keepDim", [M(dtype, rng, d, [2, 3, 4])]) { Ints = [2], KeepDim = true };
        yield return new("rows-40x33-dim1", [M(dtype, rng, d, [40, 33])]) { Ints = [1] };
        yield return new("noncontig-transposed-dim1", [M(dtype, rng, d, [4, 6], SampleLayout.Transposed)]) { Ints = [1] };
        yield return new("noncontig-narrowed-dim0", [M(dtype, rng, d, [3, 5], SampleLayout.Narrowed)]) { Ints = [0] };
        yield return new("noncontig-permuted-dim1", [M(dtype, rng, d, [2, 3, 4], SampleLayout.Permuted)]) { Ints = [1], KeepDim = true };
    }

    static IEnumerable<SampleInput> AlongDims(DType dtype, Generator rng, ValueDomain d)
    {
        yield return new("3d-dims0,2", [M(dtype, rng, d, [2, 3, 4])]) { Ints = [0, 2] };
        yield return new("3d-dims-1,0-keepDim", [M(dtype, rng, d, [2, 3, 4])]) { Ints = [-1, 0], KeepDim = true };
        yield return new("3d-all-dims", [M(dtype, rng, d, [2, 3, 4])]) { Ints = [0, 1, 2] };
        yield return new("empty-2x0x3-dims1,2", [M(dtype, rng, d, [2, 0, 3])]) { Ints = [1, 2] };
        yield return new("noncontig-permuted-dims0,1", [M(dtype, rng, d, [2, 3, 4], SampleLayout.Permuted)]) { Ints = [0, 1] };
        yield return new("noncontig-expanded-dims1,2", [M(dtype, rng, d, [3, 4, 5], SampleLayout.Expanded)]) { Ints = [1, 2] };
    }
}
