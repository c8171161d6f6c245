using NeuralCore.Nn;

namespace NeuralCore.Compression.Pruning;

// Building the smaller model: new weighted layers and BatchNorms holding the kept rows and columns.
public sealed partial class StructuredPruner
{
    /// <summary>
    /// A new, smaller Sequential: each pruned layer keeps only its selected output channels, the next weighted layer
    /// only the matching inputs, and a BatchNorm between only the matching entries (parameters and running
    /// statistics). Layers without parameters are shared with the original model, which is left unchanged. The new
    /// model is on the original's device and dtype and in its training mode.
    /// </summary>
    public Sequential Shrink()
    {
        var outputs = new Dictionary<int, long[]>();
        var inputs = new Dictionary<int, long[]>();
        var norms = new Dictionary<int, long[]>();
        for (int k = 0; k < links.Count; k++)
        {
            var link = links[k];
            var kept = Selections[k].Kept;
            outputs[link.Producer] = kept.Select(c => (long)c).ToArray();
            inputs[link.Consumer] = kept.SelectMany(c => Enumerable.Range(c * link.FeaturesPerChannel, link.FeaturesPerChannel).Select(f => (long)f)).ToArray();
            foreach (var n in link.Norms) norms[n] = outputs[link.Producer];
        }
        var layers = new Module[Model.Count];
        using (Tensor.NoGrad())
            for (int i = 0; i < Model.Count; i++)
            {
                var m = Model[i];
                layers[i] = m is Linear or Dense or Conv2d && (outputs.ContainsKey(i) || inputs.ContainsKey(i))
                    ? CutWeighted(m, outputs.GetValueOrDefault(i), inputs.GetValueOrDefault(i))
                    : norms.TryGetValue(i, out var keep) ? CutNorm((BatchNormBase)m, keep) : m;
            }
        var smaller = new Sequential(layers);
        smaller.Train(Model.IsTraining);
        return smaller;
    }

    static Module CutWeighted(Module layer, long[]? outputs, long[]? inputs)
    {
        var (weight, bias) = WeightAndBias(layer);
        var w = weight;
        var b = bias;
        if (outputs is not null)
        {
            var index = Index(outputs, weight);
            w = w.IndexSelect(0, index);
            b = b?.IndexSelect(0, index);
        }
        if (inputs is not null) w = w.IndexSelect(1, Index(inputs, weight));
        int outCount = (int)w.Shape[0], inCount = (int)w.Shape[1];
        Module cut = layer switch
        {
            Linear => new Linear(inCount, outCount, bias is not null),
            Dense d => new Dense(inCount, outCount, d.ActivationFunction, d.UseBias),
            Conv2d c => new Conv2d(inCount, outCount, c.KernelSize, c.Stride, c.Padding, c.Dilation, 1, bias is not null),
            _ => throw new ArgumentException($"StructuredPruner: {layer.GetType().Name} has no prunable weight."),
        };
        Place(cut, weight);
        var (newWeight, newBias) = WeightAndBias(cut);
        newWeight.Copy_(w);
        if (b is not null) newBias!.Copy_(b);
        return cut;
    }

    static BatchNormBase CutNorm(BatchNormBase norm, long[] keep)
    {
        BatchNormBase cut = norm is BatchNorm2d
            ? new BatchNorm2d(keep.Length, norm.Eps, norm.Momentum, norm.Affine, norm.TrackRunningStats)
            : new BatchNorm1d(keep.Length, norm.Eps, norm.Momentum, norm.Affine, norm.TrackRunningStats);
        Place(cut, norm.Weight ?? norm.RunningMean!);
        var index = Index(keep, norm.Weight ?? norm.RunningMean!);
        foreach (var (source, target) in new[] { (norm.Weight, cut.Weight), (norm.Bias, cut.Bias), (norm.RunningMean, cut.RunningMean), (norm.RunningVar, cut.RunningVar) })
            if (source is not null) target!.Copy_(source.IndexSelect(0, index));
        if (norm.NumBatchesTracked is { } tracked) cut.NumBatchesTracked!.Copy_(tracked);
        return cut;
    }

    static void Place(Module module, Tensor like)
    {
        if (like.DType != DType.Float32) module.To(like.DType);
        if (!like.Device.Equals(Device.Cpu)) module.To(like.Device);
    }

    static Tensor Index(long[] indices, Tensor like)
    {
        var index = Tensor.FromArray(indices, indices.Length);
        return like.Device.Equals(index.Device) ? index : index.To(like.Device);
    }
}
