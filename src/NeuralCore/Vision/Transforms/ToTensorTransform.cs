using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// UInt8 images (0..255) become Float32 in [0, 1]; floating images pass through as Float32 (values unchanged).
/// A [H, W] image gains a leading channel dimension.
/// </summary>
internal sealed class ToTensorTransform : ITransform
{
    public Tensor Apply(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Dim == 2) input = input.Unsqueeze(0);
        ImageTensor.Dims(input, "ToTensor");
        return input.DType switch
        {
            DType.UInt8 => Scale(input),
            DType.Float32 => input,
            DType.Float64 => input.To(DType.Float32),
            _ => throw new ArgumentException($"ToTensor: expects a UInt8 or floating image, got {input.DType}."),
        };
    }

    /// <summary>UInt8 pixels divided by 255 into a new Float32 tensor of the same shape.</summary>
    internal static Tensor Scale(Tensor bytes)
    {
        var src = bytes.ToArray<byte>();
        var dst = new float[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = src[i] / 255f;
        return Tensor.FromArray(dst, bytes.Shape.ToArray());
    }

    public override string ToString() => "ToTensor()";
}
