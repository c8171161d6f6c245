using NeuralCore.Nn;

namespace NeuralCore.Compression.Pruning;

/// <summary>
/// Structured pruning of a <see cref="Sequential"/> model: in every Linear, Dense and Conv2d layer but the last,
/// the output neurons or channels with the smallest weight norm (<see cref="ChannelNorm"/>) are removed, with the
/// matching input features or channels of the next such layer and the matching entries of a BatchNorm in between.
/// <see cref="Shrink"/> builds the genuinely smaller dense model; <see cref="ApplyMask"/> instead zeroes the same
/// channels in place (weights, bias and the BatchNorm's scale and shift), which gives the same outputs at the
/// original size.
/// <para>
/// Between two pruned layers only layers that act per channel and map zero to zero may stand: ReLU, LeakyReLU,
/// Tanh, GELU, SiLU, ELU, Dropout, affine BatchNorm1d/BatchNorm2d, max/average pooling and one Flatten (from a
/// Conv2d to a Linear or Dense, whose input features are then cut channel block by channel block). A Dense
/// activation must also map zero to zero (none, ReLU, tanh, GELU); anything else is rejected, since a pruned
/// channel would then not contribute zero.
/// </para>
/// </summary>
public sealed partial class StructuredPruner
{
    readonly List<Link> links = [];

    // One pruned layer and what depends on it: the next weighted layer, the BatchNorms between, and how many input
    // features of the next layer each channel feeds (1, or H·W after a Flatten).
    sealed record Link(int Producer, int Consumer, IReadOnlyList<int> Norms, int FeaturesPerChannel);

    /// <summary>Chooses the channels to prune in <paramref name="model"/>.</summary>
    /// <param name="model">A Sequential of Linear, Dense (built) and Conv2d layers with per-channel layers between.</param>
    /// <param name="fraction">Fraction of each pruned layer's output channels to remove (rounded; at least one channel stays), in [0, 1).</param>
    /// <param name="norm">The norm that ranks the channels.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fraction"/> is outside [0, 1).</exception>
    /// <exception cref="ArgumentException">The model has fewer than two weighted layers, a Dense layer is not built, or shapes do not chain.</exception>
    /// <exception cref="NotSupportedException">A layer between two weighted layers (or a Dense activation, a grouped convolution, a non-affine BatchNorm) cannot be pruned through; the message names it.</exception>
    public StructuredPruner(Sequential model, double fraction, ChannelNorm norm = ChannelNorm.L1)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(fraction >= 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "StructuredPruner: the fraction of channels to prune must lie in [0, 1).");
        Model = model;
        Fraction = fraction;
        Norm = norm;
        var weighted = Enumerable.Range(0, model.Count).Where(i => model[i] is Linear or Dense or Conv2d).ToList();
        if (weighted.Count < 2)
            throw new ArgumentException(
                $"StructuredPruner: the model has {weighted.Count} Linear/Dense/Conv2d layer(s); pruning needs at least two (the last one's outputs are kept).", nameof(model));
        foreach (var i in weighted)
            if (model[i] is Dense { IsBuilt: false })
                throw new ArgumentException($"StructuredPruner: the Dense layer {i} is not built yet; run one forward pass first.", nameof(model));
        var selections = new List<ChannelSelection>();
        for (int k = 0; k + 1 < weighted.Count; k++)
        {
            var link = LinkOf(model, weighted[k], weighted[k + 1]);
            links.Add(link);
            selections.Add(Select(model[link.Producer], link.Producer, fraction, norm));
        }
        Selections = selections;
    }

    /// <summary>The model being pruned.</summary>
    public Sequential Model { get; }

    /// <summary>The fraction of channels pruned per layer.</summary>
    public double Fraction { get; }

    /// <summary>The ranking norm.</summary>
    public ChannelNorm Norm { get; }

    /// <summary>The kept channels of every pruned layer, in model order.</summary>
    public IReadOnlyList<ChannelSelection> Selections { get; }

    /// <summary>Prunes <paramref name="model"/> and returns the smaller model (the original is unchanged).</summary>
    /// <param name="model">The model.</param>
    /// <param name="fraction">Fraction of each layer's channels to remove.</param>
    /// <param name="norm">The ranking norm.</param>
    public static Sequential Prune(Sequential model, double fraction, ChannelNorm norm = ChannelNorm.L1) =>
        new StructuredPruner(model, fraction, norm).Shrink();

    /// <summary>
    /// Zeroes the pruned channels in place: the producing layer's weight rows and bias entries and the scale and
    /// shift of a BatchNorm between, so those channels output zero and the model computes what <see cref="Shrink"/>'s
    /// smaller model computes.
    /// </summary>
    public void ApplyMask()
    {
        using (Tensor.NoGrad())
            for (int k = 0; k < links.Count; k++)
            {
                var link = links[k];
                var keep = Selections[k];
                var (weight, bias) = WeightAndBias(Model[link.Producer]);
                weight.Mul_(ChannelMask(keep, weight, weight.Dim));
                bias?.Mul_(ChannelMask(keep, bias, 1));
                foreach (var n in link.Norms)
                {
                    var bn = (BatchNormBase)Model[n];
                    bn.Weight!.Mul_(ChannelMask(keep, bn.Weight, 1));
                    bn.Bias!.Mul_(ChannelMask(keep, bn.Bias, 1));
                }
            }
    }

    static Tensor ChannelMask(ChannelSelection keep, Tensor like, int dims)
    {
        var m = new float[keep.Channels];
        foreach (var c in keep.Kept) m[c] = 1;
        var shape = new long[dims];
        Array.Fill(shape, 1L);
        shape[0] = keep.Channels;
        var mask = Tensor.FromArray(m, shape);
        if (mask.DType != like.DType) mask = mask.To(like.DType);
        return mask.Device.Equals(like.Device) ? mask : mask.To(like.Device);
    }

    static Link LinkOf(Sequential model, int producer, int consumer)
    {
        var p = model[producer];
        bool conv = p is Conv2d;
        if (p is Conv2d { Groups: not 1 } pc)
            throw new NotSupportedException($"StructuredPruner: layer {producer} is a grouped Conv2d (groups {pc.Groups}); only groups 1 can be pruned.");
        if (p is Dense { ActivationFunction: not (Activation.None or Activation.Relu or Activation.Tanh or Activation.Gelu) } pd)
            throw new NotSupportedException($"StructuredPruner: the Dense layer {producer} ends in {pd.ActivationFunction}, which does not map 0 to 0; a pruned neuron would not contribute zero.");
        int channels = (int)WeightAndBias(p).Weight.Shape[0];
        bool flattened = false;
        var norms = new List<int>();
        for (int i = producer + 1; i < consumer; i++)
        {
            var m = model[i];
            bool ok = m switch
            {
                ReLU or LeakyReLU or Tanh or GELU or SiLU or ELU or Dropout => true,
                BatchNorm2d bn when conv && !flattened => bn.Affine,
                BatchNorm1d bn when !conv => bn.Affine,
                MaxPool2d or AvgPool2d or AdaptiveAvgPool2d => conv && !flattened,
                Flatten f when conv && !flattened && f.StartDim == 1 && f.EndDim == -1 => flattened = true,
                _ => false,
            };
            if (!ok)
                throw new NotSupportedException(
                    $"StructuredPruner: layer {i} ({m.GetType().Name}) between the weighted layers {producer} ({p.GetType().Name}) and {consumer} ({model[consumer].GetType().Name}) cannot be pruned through" +
                    (m is BatchNormBase { Affine: false } ? " (a BatchNorm without affine parameters would not keep a pruned channel at zero)." : "."));
            if (m is BatchNormBase) norms.Add(i);
        }
        var c = model[consumer];
        int inputs = c switch
        {
            Conv2d cc when conv && !flattened && cc.Groups == 1 => cc.InChannels,
            Linear l when !conv || flattened => l.InFeatures,
            Dense d when !conv || flattened => d.InFeatures!.Value,
            _ => throw new NotSupportedException(
                $"StructuredPruner: the {p.GetType().Name} layer {producer} feeds the {c.GetType().Name} layer {consumer}" +
                (c is Conv2d { Groups: not 1 } ? " (a grouped convolution)" : conv ? " without a Flatten between" : "") + ", which cannot be pruned through."),
        };
        if (inputs % channels != 0 || (!flattened && inputs != channels))
            throw new ArgumentException(
                $"StructuredPruner: layer {producer} has {channels} output channels but layer {consumer} takes {inputs} inputs, which they do not divide.", nameof(model));
        return new Link(producer, consumer, norms, inputs / channels);
    }

    static ChannelSelection Select(Module layer, int index, double fraction, ChannelNorm norm)
    {
        var weight = WeightAndBias(layer).Weight;
        int channels = (int)weight.Shape[0];
        float[] values;
        using (Tensor.NoGrad()) values = (weight.DType == DType.Float32 ? weight : weight.To(DType.Float32)).ToArray<float>();
        int per = values.Length / channels;
        var norms = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = 0;
            for (int j = c * per; j < (c + 1) * per; j++) s += norm == ChannelNorm.L1 ? Math.Abs(values[j]) : (double)values[j] * values[j];
            norms[c] = norm == ChannelNorm.L1 ? s : Math.Sqrt(s);
        }
        int prune = Math.Min((int)Math.Round(fraction * channels, MidpointRounding.AwayFromZero), channels - 1);
        var kept = Enumerable.Range(0, channels).OrderBy(c => norms[c]).ThenBy(c => c).Skip(prune).Order().ToArray();
        return new ChannelSelection(index, layer.GetType().Name, channels, kept, norms);
    }

    static (Tensor Weight, Tensor? Bias) WeightAndBias(Module layer) => layer switch
    {
        Linear l => (l.Weight, l.Bias),
        Dense d => (d.Weight, d.Bias),
        Conv2d c => (c.Weight, c.Bias),
        _ => throw new ArgumentException($"StructuredPruner: {layer.GetType().Name} has no prunable weight."),
    };
}
