namespace NeuralCore.Testing;

/// <summary>
/// PyTorch's result-dtype rules, written out here independently of the library's own promotion code so the
/// reference tests check it rather than repeat it.
/// </summary>
public static class PyTorchTypes
{
    /// <summary>
    /// <c>torch.result_type</c> of two tensors: Bool &lt; integers &lt; floating point by category, and within a
    /// category the wider type.
    /// </summary>
    public static DType Promote(DType a, DType b)
    {
        DType[] order = [DType.Bool, DType.UInt8, DType.Int32, DType.Int64, DType.Float32, DType.Float64];
        return Array.IndexOf(order, a) >= Array.IndexOf(order, b) ? a : b;
    }

    /// <summary>A tensor of <paramref name="tensor"/> with a Python scalar: an integral scalar keeps the dtype (Bool becomes Int64), a fractional one makes integers Float32.</summary>
    public static DType WithScalar(DType tensor, double scalar)
    {
        if (tensor.IsFloatingPoint()) return tensor;
        if (scalar != Math.Floor(scalar)) return DType.Float32;
        return tensor == DType.Bool ? DType.Int64 : tensor;
    }

    /// <summary>The dtype ops that need real numbers (true division, exp, mean) produce: integers become Float32.</summary>
    public static DType Floating(DType dtype) => dtype.IsFloatingPoint() ? dtype : DType.Float32;

    /// <summary>The dtype of a sum: integer and Bool sums are Int64.</summary>
    public static DType SumOf(DType dtype) => dtype.IsFloatingPoint() ? dtype : DType.Int64;
}
