using NeuralCore.Nn;

namespace NeuralCore.Privacy.PerSample;

/// <summary>How one kind of layer turns its captured input and output gradient into per-sample parameter gradients.</summary>
internal abstract class LayerRule
{
    /// <summary>(parameter, per-sample gradient [batch, ...parameter shape]) for each parameter of <paramref name="module"/>.</summary>
    public abstract IEnumerable<(Tensor Parameter, Tensor PerSample)> Compute(Module module, Tensor input, Tensor gradOutput);

    public static readonly LayerRule Fallback = new FallbackRule();

    /// <summary>The efficient rule for <paramref name="module"/>, or null when only the fallback applies.</summary>
    public static LayerRule? For(Module module) => module switch
    {
        Linear => new LinearRule(),
        Conv2d { Groups: 1 } => new Conv2dRule(),
        Embedding { MaxNorm: null } => new EmbeddingRule(),
        LayerNorm => new LayerNormRule(),
        GroupNorm => new GroupNormRule(),
        _ => null,
    };

    sealed class LinearRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput)
        {
            var layer = (Linear)module;
            long b = input.Shape[0];
            using var noGrad = Tensor.NoGrad();
            var x = input.Reshape(b, -1, input.Shape[^1]);
            var g = gradOutput.Reshape(b, -1, gradOutput.Shape[^1]);
            // Σ over positions t of g[t]ᵀ x[t]: [B, out, T]·[B, T, in].
            yield return (layer.Weight, g.Transpose(1, 2).MatMul(x));
            if (layer.Bias is { } bias) yield return (bias, g.Sum(1));
        }
    }

    sealed class Conv2dRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput)
        {
            var conv = (Conv2d)module;
            using var noGrad = Tensor.NoGrad();
            long b = input.Shape[0], c = input.Shape[1], o = gradOutput.Shape[1];
            var (kh, kw) = conv.KernelSize;
            // dW_b[o, c, i, j] = Σ_{h,w} g_b[o, h, w] · x_b[c, i·dil + h·stride, j·dil + w·stride] (padded x): a
            // correlation of x_b with g_b whose stride is the layer's dilation and whose dilation is the layer's stride.
            // With the batch as groups it is one convolution: input [C, B, H, W], kernels [B·O, 1, Ho, Wo], groups B.
            var x = input.Transpose(0, 1).Contiguous();
            var kernels = gradOutput.Reshape(b * o, 1, gradOutput.Shape[2], gradOutput.Shape[3]);
            var corr = Functional.Conv2d(x, kernels, null, stride: conv.Dilation, padding: conv.Padding, dilation: conv.Stride, groups: (int)b);
            // [C, B·O, ≥kh, ≥kw]: rows past the kernel come from padding alignment and are dropped.
            corr = corr.Narrow(2, 0, kh).Narrow(3, 0, kw).Reshape(c, b, o, kh, kw);
            yield return (conv.Weight, corr.Permute(1, 2, 0, 3, 4).Contiguous());
            if (conv.Bias is { } bias) yield return (bias, gradOutput.Sum([2, 3]));
        }
    }

    sealed class EmbeddingRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput)
        {
            var emb = (Embedding)module;
            using var noGrad = Tensor.NoGrad();
            long b = input.Shape[0], v = emb.NumEmbeddings, d = emb.EmbeddingDim;
            var idx = input.To(DType.Int64).Reshape(b, -1, 1);
            var oneHot = idx.Eq(Tensor.Arange(0, v, 1, DType.Int64).To(input.Device).Reshape(1, 1, v)).To(gradOutput.DType);
            if (emb.PaddingIdx is long pad)
                oneHot = oneHot.Mul(Tensor.Arange(0, v, 1, DType.Int64).To(input.Device).Reshape(1, 1, v).Eq(pad).To(gradOutput.DType).Neg().Add(1));
            // [B, V, T]·[B, T, D]: each row of the table collects the gradients of the positions that read it.
            yield return (emb.Weight, oneHot.Transpose(1, 2).MatMul(gradOutput.Reshape(b, -1, d)));
        }
    }

    sealed class LayerNormRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput)
        {
            var ln = (LayerNorm)module;
            using var noGrad = Tensor.NoGrad();
            int k = ln.NormalizedShape.Count;
            var xHat = Functional.LayerNorm(input, ln.NormalizedShape.ToArray(), null, null, ln.Eps);
            // Sum over the positions between the batch dimension and the normalized dimensions.
            var between = Enumerable.Range(1, input.Dim - 1 - k).ToArray();
            Tensor PerSample(Tensor t) => between.Length == 0 ? t : t.Sum(between);
            if (ln.Weight is { } w) yield return (w, PerSample(gradOutput * xHat));
            if (ln.Bias is { } bias) yield return (bias, PerSample(gradOutput));
        }
    }

    sealed class GroupNormRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput)
        {
            var gn = (GroupNorm)module;
            using var noGrad = Tensor.NoGrad();
            var xHat = Functional.GroupNorm(input, gn.NumGroups, null, null, gn.Eps);
            // Per channel: sum over the spatial positions of each sample.
            var spatial = Enumerable.Range(2, input.Dim - 2).ToArray();
            Tensor PerSample(Tensor t) => spatial.Length == 0 ? t : t.Sum(spatial);
            if (gn.Weight is { } w) yield return (w, PerSample(gradOutput * xHat));
            if (gn.Bias is { } bias) yield return (bias, PerSample(gradOutput));
        }
    }

    // Runs the layer again on each sample alone and back-propagates that sample's output gradient.
    sealed class FallbackRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput)
        {
            var ps = module.Parameters().ToArray();
            var saved = ps.Select(p => p.Grad).ToArray();
            long b = input.Shape[0];
            var perSample = ps.Select(_ => new Tensor[b]).ToArray();
            try
            {
                for (long i = 0; i < b; i++)
                {
                    foreach (var p in ps) p.Grad = null;
                    var y = module.Forward(input.Narrow(0, i, 1));
                    y.Backward(gradOutput.Narrow(0, i, 1));
                    for (int j = 0; j < ps.Length; j++)
                        perSample[j][i] = ps[j].Grad?.Detach() ?? Tensor.ZerosLike(ps[j]);
                }
            }
            finally
            {
                for (int j = 0; j < ps.Length; j++) ps[j].Grad = saved[j];
            }
            for (int j = 0; j < ps.Length; j++)
                yield return (ps[j], Tensor.Stack(perSample[j]));
        }
    }
}
