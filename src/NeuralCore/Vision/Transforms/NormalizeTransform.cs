using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// (x − mean[c]) / std[c] per channel. A UInt8 image is first scaled to [0, 1] as <see cref="ToTensorTransform"/>
/// does, so Normalize may stand before or after ToTensor; the result is Float32 (Float64 stays Float64).
/// </summary>
internal sealed class NormalizeTransform : ITransform
{
    readonly float[] mean;
    readonly float[] std;

    internal NormalizeTransform(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: mean and std need the same, non-zero number of channels, got {mean.Length} and {std.Length}.");
        for (int c = 0; c < mean.Length; c++)
        {
            if (!float.IsFinite(mean[c])) throw new ArgumentException($"Normalize: mean[{c}] is {mean[c]}; it must be finite.", nameof(mean));
            if (!float.IsFinite(std[c]) || std[c] == 0)
                throw new ArgumentException($"Normalize: std[{c}] is {std[c]}; it must be finite and non-zero.", nameof(std));
        }
        this.mean = (float[])mean.Clone();
        this.std = (float[])std.Clone();
    }

    public Tensor Apply(Tensor input)
    {
        var (c, h, w) = ImageTensor.Dims(input, "Normalize");
        if (c != mean.Length)
            throw new ArgumentException($"Normalize: the image has {c} channels (shape {input.Shape}) but mean and std have {mean.Length}.");
        int plane = h * w;
        if (input.DType == DType.Float64)
        {
            var d = input.ToArray<double>();
            for (int k = 0; k < c; k++)
                for (int i = k * plane; i < (k + 1) * plane; i++) d[i] = (d[i] - mean[k]) / std[k];
            return Tensor.FromArray(d, c, h, w);
        }
        var x = input.DType == DType.UInt8 ? ToTensorTransform.Scale(input).ToArray<float>() : input.ToArray<float>();
        for (int k = 0; k < c; k++)
        {
            float m = mean[k], s = std[k];
            for (int i = k * plane; i < (k + 1) * plane; i++) x[i] = (x[i] - m) / s;
        }
        return Tensor.FromArray(x, c, h, w);
    }

    public override string ToString() => $"Normalize(mean: [{string.Join(", ", mean)}], std: [{string.Join(", ", std)}])";
}
