using System.Globalization;

namespace NeuralCore.Testing;

/// <summary>
/// Verifies a function's autograd gradients against central finite differences in Float64, as
/// <c>torch.autograd.gradcheck</c>. Floating inputs are copied to Float64 leaves that require grad; integer and
/// Bool inputs (indices, masks) are passed through unchanged and not checked. For every output element the
/// analytic Jacobian row comes from one backward pass with a one-hot gradient; every input element is perturbed
/// by ±<c>eps</c> for the numerical column. The cost is O(inputs × outputs) passes, so keep the tensors small.
/// </summary>
public static class GradCheck
{
    /// <summary>Compares analytic and numerical Jacobians; an entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|.</summary>
    /// <param name="function">The function under test; it must return a floating tensor.</param>
    /// <param name="inputs">Its inputs (any dtype, any layout; they are not modified).</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    public static GradCheckResult Check(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(inputs);
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "GradCheck: eps must be positive.");
        int count = inputs.Length;
        var isChecked = new bool[count];
        var values = new double[count][];
        var shapes = new int[count][];
        var leaves = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            ArgumentNullException.ThrowIfNull(inputs[i], nameof(inputs));
            isChecked[i] = inputs[i].DType.IsFloatingPoint();
            shapes[i] = Array.ConvertAll(inputs[i].Shape.ToArray(), s => (int)s);
            values[i] = isChecked[i] ? inputs[i].ToArray<double>() : [];
            leaves[i] = isChecked[i] ? Leaf(values[i], shapes[i]).RequiresGrad_() : inputs[i];
        }

        var output = function(leaves);
        if (!output.DType.IsFloatingPoint())
            return new(false, $"GradCheck: the function returned a {output.DType} tensor; only floating outputs have gradients.");
        int outputs = (int)output.NumElements;
        var outShape = Array.ConvertAll(output.Shape.ToArray(), s => (int)s);
        var analytic = Analytic(output, outShape, leaves, isChecked, values);
        var worst = (Ratio: 0.0, Input: -1, Element: -1, Output: -1, Analytic: 0.0, Numeric: 0.0);
        int failures = 0, entries = 0;
        for (int i = 0; i < count; i++)
        {
            if (!isChecked[i]) continue;
            for (int k = 0; k < values[i].Length; k++)
            {
                var plus = Evaluate(function, leaves, values[i], shapes[i], i, k, eps, outputs);
                var minus = Evaluate(function, leaves, values[i], shapes[i], i, k, -eps, outputs);
                for (int j = 0; j < outputs; j++)
                {
                    entries++;
                    double numeric = (plus[j] - minus[j]) / (2 * eps), a = analytic[i][k * outputs + j];
                    double ratio = Math.Abs(a - numeric) / (atol + rtol * Math.Abs(numeric));
                    if (double.IsNaN(ratio)) ratio = double.PositiveInfinity;
                    if (ratio <= 1) continue;
                    failures++;
                    if (ratio > worst.Ratio) worst = (ratio, i, k, j, a, numeric);
                }
            }
        }
        if (failures == 0)
            return new(true, $"GradCheck passed: {entries} Jacobian entries over {isChecked.Count(c => c)} checked inputs agree (eps {eps}, atol {atol}, rtol {rtol}).");
        return new(false, string.Create(CultureInfo.InvariantCulture,
            $"GradCheck failed: {failures} of {entries} Jacobian entries differ. Worst: input {worst.Input} element {worst.Element} " +
            $"[{string.Join(", ", RefTensor.Unravel(worst.Element, shapes[worst.Input]))}] -> output element {worst.Output} " +
            $"[{string.Join(", ", RefTensor.Unravel(worst.Output, outShape))}]: analytic {worst.Analytic:R}, numeric {worst.Numeric:R} " +
            $"(atol {atol}, rtol {rtol})."));
    }

    /// <summary>Like <see cref="Check"/>, but throws when the gradients disagree.</summary>
    /// <exception cref="GradCheckException">An analytic derivative differs from its finite-difference estimate; the message names the worst one.</exception>
    public static void Assert(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3)
    {
        var result = Check(function, inputs, eps, atol, rtol);
        if (!result.Passed) throw new GradCheckException(result.Message);
    }

    static Tensor Leaf(double[] values, int[] shape) => SampleTensors.FromDoubles(values, shape, DType.Float64);

    // analytic[i][k·outputs + j] = ∂output_j / ∂input_i[k], one backward pass per output element. An input the
    // output does not depend on keeps a null Grad, i.e. a zero column.
    static double[][] Analytic(Tensor output, int[] outShape, Tensor[] leaves, bool[] isChecked, double[][] values)
    {
        int outputs = (int)output.NumElements;
        var analytic = new double[leaves.Length][];
        for (int i = 0; i < leaves.Length; i++) analytic[i] = new double[values[i].Length * outputs];
        if (!output.RequiresGrad) return analytic;
        for (int j = 0; j < outputs; j++)
        {
            foreach (var leaf in leaves) if (leaf.RequiresGrad) leaf.Grad = null;
            var oneHot = new double[outputs];
            oneHot[j] = 1;
            output.Backward(SampleTensors.FromDoubles(oneHot, outShape, output.DType), retainGraph: true);
            for (int i = 0; i < leaves.Length; i++)
            {
                if (!isChecked[i] || leaves[i].Grad is not { } grad) continue;
                var g = grad.ToArray<double>();
                for (int k = 0; k < g.Length; k++) analytic[i][k * outputs + j] = g[k];
            }
        }
        foreach (var leaf in leaves) if (leaf.RequiresGrad) leaf.Grad = null;
        return analytic;
    }

    static double[] Evaluate(Func<Tensor[], Tensor> function, Tensor[] leaves, double[] values, int[] shape, int input, int element, double step, int outputs)
    {
        using var _ = Tensor.NoGrad();
        var perturbed = (double[])values.Clone();
        perturbed[element] += step;
        var args = (Tensor[])leaves.Clone();
        args[input] = Leaf(perturbed, shape);
        var result = function(args).ToArray<double>();
        if (result.Length != outputs)
            throw new InvalidOperationException($"GradCheck: the function returned {result.Length} elements for a perturbed input but {outputs} originally.");
        return result;
    }
}
