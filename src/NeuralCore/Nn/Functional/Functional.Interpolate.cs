namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// Resizes the spatial dimensions of an [N, C, H, W] input, as <c>torch.nn.functional.interpolate</c> with
    /// mode "nearest" or "bilinear". Give either <paramref name="size"/> or <paramref name="scaleFactor"/> (the
    /// output size is then ⌊H·scale⌋ and, as in PyTorch, source positions use 1/scale). Bilinear mode samples
    /// with half-pixel centres unless <paramref name="alignCorners"/> is true, which maps the corner pixels onto each
    /// other. Composed of index selections and weighted sums along each axis, so it is differentiable and runs on
    /// every backend.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The input is not 4-d, both or neither of size and scale are given, a size or scale is not positive, the mode is
    /// unknown, or alignCorners is given for nearest mode.
    /// </exception>
    public static Tensor Interpolate(Tensor input, (int H, int W)? size = null, (double H, double W)? scaleFactor = null, string mode = "nearest",
        bool? alignCorners = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(mode);
        const string op = "Interpolate";
        if (input.Dim != 4) throw new ArgumentException($"{op}: expected a 4-d [N, C, H, W] input, got {input.Shape}.");
        if (size is null == scaleFactor is null) throw new ArgumentException($"{op}: give exactly one of size and scaleFactor.");
        bool bilinear = mode switch
        {
            "nearest" => false,
            "bilinear" => true,
            _ => throw new ArgumentException($"{op}: mode must be \"nearest\" or \"bilinear\", got \"{mode}\"."),
        };
        if (!bilinear && alignCorners is not null) throw new ArgumentException($"{op}: alignCorners applies only to the bilinear mode.");
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: the input must be floating point, got {input.DType}.");
        int h = (int)input.Shape[2], w = (int)input.Shape[3];
        int oh, ow;
        double? sh = null, sw = null;
        if (size is { } s)
        {
            (oh, ow) = s;
        }
        else
        {
            var f = scaleFactor!.Value;
            if (!(f.H > 0) || !(f.W > 0) || double.IsInfinity(f.H) || double.IsInfinity(f.W))
                throw new ArgumentException($"{op}: scale factors must be positive and finite, got ({f.H}, {f.W}).");
            (sh, sw) = (1 / f.H, 1 / f.W);
            oh = (int)Math.Min(Math.Floor(h * f.H), int.MaxValue);
            ow = (int)Math.Min(Math.Floor(w * f.W), int.MaxValue);
        }
        if (oh < 1 || ow < 1) throw new ArgumentException($"{op}: the output size ({oh}, {ow}) must be positive (input {input.Shape}).");
        if (h < 1 || w < 1) throw new ArgumentException($"{op}: the input {input.Shape} has no pixels to sample.");
        ShapeMath.RequireElements(op, [input.Shape[0], input.Shape[1], oh, ow], $"input {input.Shape}");
        bool corners = alignCorners ?? false;
        var y = bilinear ? LinearAlong(input, 2, h, oh, sh, corners) : NearestAlong(input, 2, h, oh, sh);
        return bilinear ? LinearAlong(y, 3, w, ow, sw, corners) : NearestAlong(y, 3, w, ow, sw);
    }

    // PyTorch's nearest rule: source = min(⌊dst·scale⌋, in − 1), scale = in/out or 1/scaleFactor.
    static Tensor NearestAlong(Tensor x, int dim, int inSize, int outSize, double? scale)
    {
        if (inSize == outSize && scale is null or 1.0) return x;
        double sc = scale ?? (double)inSize / outSize;
        var index = new long[outSize];
        for (int i = 0; i < outSize; i++) index[i] = Math.Min((long)Math.Floor(i * sc), inSize - 1);
        return x.IndexSelect(dim, Tensor.FromSpan<long>(index, [outSize], x.Device));
    }

    // Linear interpolation along one axis: out = x[i0]·(1 − λ) + x[i1]·λ; applied to H then W it is bilinear.
    static Tensor LinearAlong(Tensor x, int dim, int inSize, int outSize, double? scale, bool alignCorners)
    {
        var i0 = new long[outSize];
        var i1 = new long[outSize];
        var lambda = new double[outSize];
        double sc = alignCorners ? (outSize > 1 ? (double)(inSize - 1) / (outSize - 1) : 0) : scale ?? (double)inSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            double src = alignCorners ? sc * i : Math.Max(sc * (i + 0.5) - 0.5, 0);
            long lo = Math.Min((long)src, inSize - 1);
            i0[i] = lo;
            i1[i] = lo < inSize - 1 ? lo + 1 : lo;
            lambda[i] = lo < inSize - 1 ? src - lo : 0;
        }
        int[] weightShape = dim == 2 ? [outSize, 1] : [outSize];
        var l1 = Tensor.FromSpan<double>(lambda, weightShape, x.Device).To(x.DType);
        var l0 = (1 - Tensor.FromSpan<double>(lambda, weightShape, x.Device)).To(x.DType);
        var a = x.IndexSelect(dim, Tensor.FromSpan<long>(i0, [outSize], x.Device));
        var b = x.IndexSelect(dim, Tensor.FromSpan<long>(i1, [outSize], x.Device));
        return a * l0 + b * l1;
    }
}
