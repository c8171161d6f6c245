using NeuralCore.Nn;

namespace NeuralCore.Privacy.PerSample;

/// <summary>How one kind of layer turns its captured input and output gradient into per-sample parameter gradients.</summary>
internal abstract class LayerRule
{
    /// <summary>(parameter, per-sample gradient [batch, ...parameter shape]) for each parameter of <paramref name="module"/>.</summary>
    public abstract IEnumerable<(Tensor Parameter, Tensor PerSample)> Compute(Module module, Tensor input, Tensor gradOutput, object? state);

    /// <summary>
    /// The per-sample squared norms and the clipped-sum function of <paramref name="module"/>'s parameters. By default
    /// from the materialized per-sample gradients; rules with a cheaper form override it.
    /// </summary>
    public virtual GhostTerms Ghost(Module module, Tensor input, Tensor gradOutput, object? state) =>
        GhostTerms.FromPerSample(Compute(module, input, gradOutput, state).ToArray()); // the fallback needs gradients enabled

    /// <summary>Installs the observers the rule needs on <paramref name="module"/> (none by default).</summary>
    public virtual void Attach(Module module)
    {
    }

    /// <summary>Removes what <see cref="Attach"/> installed.</summary>
    public virtual void Detach(Module module)
    {
    }

    /// <summary>What the observers recorded during the forward call that just ended (given back to Compute and Ghost as state).</summary>
    public virtual object? TakeState(Module module) => null;

    public static readonly LayerRule Fallback = new FallbackRule();

    /// <summary>The efficient rule for <paramref name="module"/>, or null when only the fallback applies.</summary>
    public static LayerRule? For(Module module) => module switch
    {
        Linear => new LinearRule(),
        Conv2d or Conv1d => new ConvRule(),
        Embedding { MaxNorm: null } => new EmbeddingRule(),
        LayerNorm => new LayerNormRule(),
        GroupNorm => new GroupNormRule(),
        RNNBase { BatchFirst: true } => new RecurrentRule(),
        _ => null,
    };

    sealed class LinearRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state)
        {
            var layer = (Linear)module;
            var (x, g) = Sequences(input, gradOutput);
            return PerSample(layer.Weight, layer.Bias, x, g);
        }

        public override GhostTerms Ghost(Module module, Tensor input, Tensor gradOutput, object? state)
        {
            var layer = (Linear)module;
            var (x, g) = Sequences(input, gradOutput);
            return GhostOf(layer.Weight, layer.Bias, x, g);
        }

        // [B, T, in] and [B, T, out] (T = 1 for a plain batch of vectors).
        static (Tensor X, Tensor G) Sequences(Tensor input, Tensor gradOutput)
        {
            long b = input.Shape[0];
            return (input.Reshape(b, -1, input.Shape[^1]), gradOutput.Reshape(b, -1, gradOutput.Shape[^1]));
        }

        /// <summary>Per-sample gradients of y = x·Wᵀ + b applied at T positions: x [B, T, in], g [B, T, out].</summary>
        public static IEnumerable<(Tensor, Tensor)> PerSample(Tensor weight, Tensor? bias, Tensor x, Tensor g)
        {
            using var noGrad = Tensor.NoGrad();
            // Σ over positions t of g[t]ᵀ x[t]: [B, out, T]·[B, T, in].
            yield return (weight, g.Transpose(1, 2).MatMul(x));
            if (bias is not null) yield return (bias, g.Sum(1));
        }

        /// <summary>Ghost terms of y = x·Wᵀ + b applied at T positions: x [B, T, in], g [B, T, out].</summary>
        public static GhostTerms GhostOf(Tensor weight, Tensor? bias, Tensor x, Tensor g)
        {
            long b = x.Shape[0], t = x.Shape[1], dIn = x.Shape[2], dOut = g.Shape[2];
            // Forming Gᵢ = gᵢᵀaᵢ costs T·in·out per sample, the Gram matrices T²·(in + out): with T² ≥ in·out the
            // per-sample gradients are formed and also give the clipped sum (the "mixed" choice).
            if (t > 1 && t * t >= dIn * dOut) return GhostTerms.FromPerSample(PerSample(weight, bias, x, g).ToArray());
            using var noGrad = Tensor.NoGrad();
            var sq = t == 1
                ? x.Square().Sum([1, 2]).Mul(g.Square().Sum([1, 2]))                         // ‖aᵢ‖²‖gᵢ‖²
                : x.MatMul(x.Transpose(1, 2)).Mul(g.MatMul(g.Transpose(1, 2))).Sum([1, 2]);  // ⟨AAᵀ, GGᵀ⟩
            if (bias is not null) sq = sq.Add(g.Sum(1).Square().Sum(1));
            var xFlat = x.Reshape(b * t, dIn);
            return new GhostTerms(sq, c => WeightedSums(weight, bias, xFlat, g, c));
        }

        // Σᵢ cᵢ gᵢᵀ aᵢ as one product over every sample and position: the ordinary weight gradient of the rescaled g.
        static IEnumerable<(Tensor, Tensor)> WeightedSums(Tensor weight, Tensor? bias, Tensor xFlat, Tensor g, Tensor c)
        {
            using var noGrad = Tensor.NoGrad();
            var scaled = g.Mul(c.To(g.DType).Reshape(g.Shape[0], 1, 1)).Reshape(xFlat.Shape[0], g.Shape[2]);
            yield return (weight, scaled.Transpose(0, 1).MatMul(xFlat));
            if (bias is not null) yield return (bias, scaled.Sum(0));
        }
    }

    // RNN, LSTM and GRU (batch first): every affine map of the layer, the input projection of each layer and direction
    // over the whole sequence and the hidden projection at each step, is observed during the forward pass
    // (RNNBase.LinearTap) with its input and, after the backward pass, its output gradient. A weight's per-sample
    // gradient is then Σ over its applications of gᵀa, a Linear over all the positions where it was applied.
    sealed class RecurrentRule : LayerRule
    {
        readonly List<TapRecord> pending = [];

        sealed class TapRecord(Tensor weight, Tensor? bias, Tensor input)
        {
            public Tensor Weight { get; } = weight;
            public Tensor? Bias { get; } = bias;
            public Tensor Input { get; } = input;
            public Tensor? GradOutput { get; set; }
        }

        public override void Attach(Module module) =>
            ((RNNBase)module).LinearTap = (weight, bias, input, output) =>
            {
                if (!Tensor.IsGradEnabled || !module.IsTraining || !output.RequiresGrad) return output;
                var record = new TapRecord(weight, bias, input.Detach());
                pending.Add(record);
                return PerSampleGradients.Observe(output, g => record.GradOutput = record.GradOutput is null ? g : record.GradOutput.Add(g));
            };

        public override void Detach(Module module) => ((RNNBase)module).LinearTap = null;

        public override object? TakeState(Module module)
        {
            var taken = pending.ToArray();
            pending.Clear();
            return taken;
        }

        // Per weight: its applications as one sequence, x [B, P, in] and g [B, P, out], batch first.
        static IEnumerable<(Tensor Weight, Tensor? Bias, Tensor X, Tensor G)> Applications(object? state)
        {
            var records = (TapRecord[])state!;
            using var noGrad = Tensor.NoGrad();
            static Tensor BatchFirst(Tensor t) => t.Dim == 3 ? t.Transpose(0, 1) : t.Unsqueeze(1); // [T, B, d] or [B, d]
            foreach (var group in records.Where(r => r.GradOutput is not null).GroupBy(r => r.Weight, ReferenceEqualityComparer.Instance))
            {
                var rs = group.ToArray();
                var x = Tensor.Cat(rs.Select(r => BatchFirst(r.Input)).ToArray(), 1);
                var g = Tensor.Cat(rs.Select(r => BatchFirst(r.GradOutput!)).ToArray(), 1);
                yield return (rs[0].Weight, rs[0].Bias, x, g);
            }
        }

        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state) =>
            Applications(state).SelectMany(a => LinearRule.PerSample(a.Weight, a.Bias, a.X, a.G)).ToArray();

        public override GhostTerms Ghost(Module module, Tensor input, Tensor gradOutput, object? state)
        {
            var parts = Applications(state).Select(a => LinearRule.GhostOf(a.Weight, a.Bias, a.X, a.G)).ToArray();
            return parts.Length > 0 ? GhostTerms.Combine(parts)
                : new GhostTerms(Tensor.Zeros([input.Shape[0]], gradOutput.DType, gradOutput.Device), _ => []);
        }
    }

    // Conv1d and Conv2d of any stride, padding, dilation and groups, through the unfolded input: with
    // Uᵢ [G, C/G·kh·kw, L] (every kernel window of sample i at the L output positions) and gᵢ [G, O/G, L], the
    // per-sample weight gradient is gᵢ·Uᵢᵀ per group. A 1-d convolution is a 2-d one of height 1.
    sealed class ConvRule : LayerRule
    {
        readonly record struct Geometry(Tensor Weight, Tensor? Bias, int Groups, (int H, int W) Kernel, (int H, int W) Stride,
            (int H, int W) Padding, (int H, int W) Dilation, bool OneD);

        static Geometry Of(Module module) => module switch
        {
            Conv2d c => new(c.Weight, c.Bias, c.Groups, c.KernelSize, c.Stride, c.Padding, c.Dilation, false),
            Conv1d c => new(c.Weight, c.Bias, c.Groups, (1, c.KernelSize), (1, c.Stride), (0, c.Padding), (1, c.Dilation), true),
            _ => throw new ArgumentException($"ConvRule: {module.GetType().Name} is not a convolution."),
        };

        // U [B, G, C/G·kh·kw, L] and g [B, G, O/G, L].
        static (Tensor U, Tensor G) Unfold(Geometry geo, Tensor input, Tensor gradOutput)
        {
            var x = geo.OneD ? input.Unsqueeze(2) : input;
            long b = x.Shape[0], c = x.Shape[1], o = gradOutput.Shape[1];
            int kh = geo.Kernel.H, kw = geo.Kernel.W, kk = kh * kw;
            // Channel c·kk + (i·kw + j) of a depthwise convolution with one-hot kernels is tap (i, j) of input channel c.
            var eye = Tensor.Eye(kk, x.DType).To(x.Device).Reshape(1, kk, 1, kh, kw).Expand(c, kk, 1, kh, kw).Reshape(c * kk, 1, kh, kw);
            var u = Functional.Conv2d(x, eye, null, geo.Stride, geo.Padding, geo.Dilation, (int)c);
            long l = u.Shape[2] * u.Shape[3];
            int groups = geo.Groups;
            return (u.Reshape(b, groups, c / groups * kk, l), gradOutput.Reshape(b, groups, o / groups, l));
        }

        static Tensor PerSampleWeight(Geometry geo, Tensor u, Tensor g) =>
            g.MatMul(u.Transpose(2, 3)).Reshape([u.Shape[0], .. geo.Weight.Shape.ToArray()]);

        static Tensor PerSampleBias(Tensor gradOutput) => gradOutput.Reshape(gradOutput.Shape[0], gradOutput.Shape[1], -1).Sum(2);

        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state)
        {
            var geo = Of(module);
            using var noGrad = Tensor.NoGrad();
            var (u, g) = Unfold(geo, input, gradOutput);
            yield return (geo.Weight, PerSampleWeight(geo, u, g));
            if (geo.Bias is { } bias) yield return (bias, PerSampleBias(gradOutput));
        }

        public override GhostTerms Ghost(Module module, Tensor input, Tensor gradOutput, object? state)
        {
            var geo = Of(module);
            using var noGrad = Tensor.NoGrad();
            var (u, g) = Unfold(geo, input, gradOutput);
            long ck = u.Shape[2], l = u.Shape[3], og = g.Shape[2];
            // ⟨UᵢᵀUᵢ, gᵢᵀgᵢ⟩ per group costs L²(ck + og) per sample, forming gᵢUᵢᵀ costs og·ck·L: take the cheaper;
            // formed per-sample gradients also give the clipped sum.
            if (l * (ck + og) >= og * ck)
            {
                (Tensor, Tensor)[] perSample = geo.Bias is { } b
                    ? [(geo.Weight, PerSampleWeight(geo, u, g)), (b, PerSampleBias(gradOutput))]
                    : [(geo.Weight, PerSampleWeight(geo, u, g))];
                return GhostTerms.FromPerSample(perSample);
            }
            var sq = u.Transpose(2, 3).MatMul(u).Mul(g.Transpose(2, 3).MatMul(g)).Sum([1, 2, 3]);
            if (geo.Bias is not null) sq = sq.Add(PerSampleBias(gradOutput).Square().Sum(1));
            return new GhostTerms(sq, c => WeightedSums(geo, u, g, gradOutput, c));
        }

        // Σᵢ cᵢ gᵢUᵢᵀ per group as one product over every sample and position.
        static IEnumerable<(Tensor, Tensor)> WeightedSums(Geometry geo, Tensor u, Tensor g, Tensor gradOutput, Tensor c)
        {
            using var noGrad = Tensor.NoGrad();
            long b = u.Shape[0], groups = u.Shape[1], ck = u.Shape[2], l = u.Shape[3], og = g.Shape[2];
            var scaled = g.Mul(c.To(g.DType).Reshape(b, 1, 1, 1));
            var lhs = scaled.Permute(1, 2, 0, 3).Reshape(groups, og, b * l);
            var rhs = u.Permute(1, 0, 3, 2).Reshape(groups, b * l, ck);
            yield return (geo.Weight, lhs.MatMul(rhs).Reshape(geo.Weight.Shape.ToArray()));
            if (geo.Bias is { } bias) yield return (bias, GhostTerms.WeightedSum(PerSampleBias(gradOutput), c));
        }
    }

    sealed class EmbeddingRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state)
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

        // ‖Gᵢ‖² = Σ_{t,t'} [idₜ = idₜ'] gₜ·gₜ' (positions reading the same row add up), from the T×T Gram matrix of g.
        public override GhostTerms Ghost(Module module, Tensor input, Tensor gradOutput, object? state)
        {
            var emb = (Embedding)module;
            long b = input.Shape[0], d = emb.EmbeddingDim;
            var idx = input.To(DType.Int64).Reshape(b, -1);
            long t = idx.Shape[1];
            if (t > emb.NumEmbeddings) return base.Ghost(module, input, gradOutput, state); // the table is the smaller form
            using var noGrad = Tensor.NoGrad();
            var g = gradOutput.Reshape(b, t, d);
            if (emb.PaddingIdx is long pad) g = g.Mul(idx.Eq(pad).To(g.DType).Neg().Add(1).Unsqueeze(2));
            var same = idx.Unsqueeze(2).Eq(idx.Unsqueeze(1)).To(g.DType);
            var sq = same.Mul(g.MatMul(g.Transpose(1, 2))).Sum([1, 2]);
            return new GhostTerms(sq, c => WeightedSums(emb, idx, g, c));
        }

        // Σᵢ cᵢ Gᵢ: every position's rescaled gradient added to the row it read (padding positions carry zeros).
        static IEnumerable<(Tensor, Tensor)> WeightedSums(Embedding emb, Tensor idx, Tensor g, Tensor c)
        {
            using var noGrad = Tensor.NoGrad();
            long d = emb.EmbeddingDim;
            var scaled = g.Mul(c.To(g.DType).Reshape(g.Shape[0], 1, 1)).Reshape(-1, d);
            yield return (emb.Weight, Tensor.Zeros([emb.NumEmbeddings, d], g.DType, g.Device).IndexAdd(0, idx.Reshape(-1), scaled));
        }
    }

    sealed class LayerNormRule : LayerRule
    {
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state)
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
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state)
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
        public override IEnumerable<(Tensor, Tensor)> Compute(Module module, Tensor input, Tensor gradOutput, object? state)
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
