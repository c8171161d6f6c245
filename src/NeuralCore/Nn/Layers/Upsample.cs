using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Resizes [N, C, H, W] inputs to a fixed size or by a scale factor, as <c>torch.nn.Upsample</c>; see
/// <see cref="Functional.Interpolate"/> for the modes ("nearest", "bilinear") and alignCorners.
/// </summary>
public sealed class Upsample : Module
{
    /// <summary>Creates the layer; give exactly one of <paramref name="size"/> and <paramref name="scaleFactor"/>.</summary>
    /// <exception cref="ArgumentException">Both or neither are given, a value is not positive, the mode is unknown, or alignCorners is given for nearest mode.</exception>
    public Upsample((int H, int W)? size = null, (double H, double W)? scaleFactor = null, string mode = "nearest", bool? alignCorners = null)
    {
        ArgumentNullException.ThrowIfNull(mode);
        if (size is null == scaleFactor is null) throw new ArgumentException("Upsample: give exactly one of size and scaleFactor.");
        if (size is { } s && (s.H < 1 || s.W < 1)) throw new ArgumentException($"Upsample: size ({s.H}, {s.W}) must be positive.");
        if (scaleFactor is { } f && (!(f.H > 0) || !(f.W > 0) || double.IsInfinity(f.H) || double.IsInfinity(f.W)))
            throw new ArgumentException($"Upsample: scale factors must be positive and finite, got ({f.H}, {f.W}).");
        if (mode is not ("nearest" or "bilinear")) throw new ArgumentException($"Upsample: mode must be \"nearest\" or \"bilinear\", got \"{mode}\".");
        if (mode == "nearest" && alignCorners is not null) throw new ArgumentException("Upsample: alignCorners applies only to the bilinear mode.");
        Size = size;
        ScaleFactor = scaleFactor;
        Mode = mode;
        AlignCorners = alignCorners;
    }

    /// <summary>Creates the layer with one scale factor for both dimensions.</summary>
    /// <exception cref="ArgumentException">The factor is not positive, the mode is unknown, or alignCorners is given for nearest mode.</exception>
    public Upsample(double scaleFactor, string mode = "nearest", bool? alignCorners = null) : this(null, (scaleFactor, scaleFactor), mode, alignCorners)
    {
    }

    /// <summary>The fixed output (height, width), or null when a scale factor is used.</summary>
    public (int H, int W)? Size { get; }

    /// <summary>The (height, width) scale factors, or null when a size is used.</summary>
    public (double H, double W)? ScaleFactor { get; }

    /// <summary>"nearest" or "bilinear".</summary>
    public string Mode { get; }

    /// <summary>Bilinear corner alignment; null for nearest mode or PyTorch's default (false).</summary>
    public bool? AlignCorners { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Interpolate(x, Size, ScaleFactor, Mode, AlignCorners);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"{(Size is { } s ? $"size: ({s.H}, {s.W})" : $"scaleFactor: ({ScaleFactor!.Value.H}, {ScaleFactor.Value.W})")}, mode: {Mode}{(AlignCorners is { } a ? $", alignCorners: {a}" : "")}");
}
