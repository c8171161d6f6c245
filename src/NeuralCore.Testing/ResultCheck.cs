using System.Globalization;

namespace NeuralCore.Testing;

/// <summary>Compares a result tensor with an expected one (dtype, shape, then every value) and describes the first difference.</summary>
public static class ResultCheck
{
    /// <summary>Null when <paramref name="actual"/> matches <paramref name="expected"/>; otherwise what differs.</summary>
    public static string? Mismatch(Tensor actual, RefTensor expected, Tolerance tolerance)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        if (actual.DType != expected.DType) return $"dtype is {actual.DType}, expected {expected.DType}";
        var shape = Array.ConvertAll(actual.Shape.ToArray(), s => (int)s);
        if (!shape.AsSpan().SequenceEqual(expected.Shape))
            return $"shape is {actual.Shape}, expected [{string.Join(", ", expected.Shape)}]";
        var values = actual.ToArray<double>();
        var tol = actual.DType.IsFloatingPoint() ? tolerance : Tolerance.Exact;
        int bad = -1, count = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (tol.Accepts(values[i], expected.Data[i])) continue;
            count++;
            if (bad < 0 || Excess(values[i], expected.Data[i]) > Excess(values[bad], expected.Data[bad])) bad = i;
        }
        if (bad < 0) return null;
        var index = string.Join(", ", RefTensor.Unravel(bad, expected.Shape));
        return string.Create(CultureInfo.InvariantCulture,
            $"{count} of {values.Length} elements differ; worst at [{index}]: got {values[bad]:R}, expected {expected.Data[bad]:R} (atol {tol.Atol}, rtol {tol.Rtol})");
    }

    /// <summary>Null when two tensors match (e.g. a backend's result against the CPU's); otherwise what differs.</summary>
    public static string? Mismatch(Tensor actual, Tensor expected, Tolerance tolerance)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return Mismatch(actual, RefTensor.FromTensor(expected.Device.IsCpu ? expected : expected.To(Device.Cpu)), tolerance);
    }

    static double Excess(double a, double e) => double.IsNaN(a) || double.IsNaN(e) ? double.PositiveInfinity : Math.Abs(a - e);
}
