namespace NeuralCore.Serialization;

/// <summary>How a safetensors dtype name maps onto a NeuralCore <see cref="DType"/>.</summary>
/// <param name="Name">The dtype name in the header ("F32", ...).</param>
/// <param name="FileElementSize">Bytes per element in the file.</param>
/// <param name="TensorDType">The dtype of the tensor that is created.</param>
/// <param name="Rank">Position in the reference implementation's dtype order, which its writer sorts by (descending).</param>
internal readonly record struct SafeTensorsDType(string Name, int FileElementSize, DType TensorDType, int Rank)
{
    /// <summary>True when the file's elements are stored as they are in the tensor (no widening on read).</summary>
    public bool IsNative => FileElementSize == TensorDType.SizeOf() && Name is not ("F16" or "BF16");
}

/// <summary>
/// The dtype names NeuralCore reads and writes. BOOL, U8, I32, I64, F32 and F64 round-trip exactly; F16 and BF16 are
/// read (widened losslessly to Float32) so half-precision checkpoints load, but never written. Every other name is
/// rejected as unsupported.
/// </summary>
internal static class SafeTensorsDTypes
{
    // Ranks follow the order of the reference implementation's Dtype enum (BOOL, U8, I8, F8_E5M2, F8_E4M3, I16,
    // U16, F16, BF16, I32, U32, F32, F64, I64, U64): its writer sorts tensors by that order, descending, then by name.
    static readonly SafeTensorsDType[] Known =
    [
        new("BOOL", 1, DType.Bool, 0),
        new("U8", 1, DType.UInt8, 1),
        new("F16", 2, DType.Float32, 7),
        new("BF16", 2, DType.Float32, 8),
        new("I32", 4, DType.Int32, 9),
        new("F32", 4, DType.Float32, 11),
        new("F64", 8, DType.Float64, 12),
        new("I64", 8, DType.Int64, 13),
    ];

    /// <summary>The list shown in "unsupported dtype" messages.</summary>
    public const string SupportedList = "BOOL, U8, I32, I64, F32, F64 (and F16, BF16, read as Float32)";

    /// <summary>Looks up a header dtype name (case-sensitive, as in the format).</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out SafeTensorsDType dtype)
    {
        foreach (var k in Known)
            if (name.SequenceEqual(k.Name))
            {
                dtype = k;
                return true;
            }
        dtype = default;
        return false;
    }

    /// <summary>The name and rank a tensor of <paramref name="dtype"/> is written with.</summary>
    public static SafeTensorsDType ForWriting(DType dtype) => dtype switch
    {
        DType.Bool => Known[0],
        DType.UInt8 => Known[1],
        DType.Int32 => Known[4],
        DType.Float32 => Known[5],
        DType.Float64 => Known[6],
        DType.Int64 => Known[7],
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "This dtype has no safetensors name."),
    };
}
