using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Privacy.PerSample;

namespace NeuralCore.Privacy.Tests;

public class GhostClippingTests
{
    // Loss = mean over the batch of <W_b, f(x_b)> with fixed random W, so every sample's gradient differs. The
    // reference runs one backward per sample (its own loss <W_i, f(x_i)>), clips the gradient by hand in float64 and
    // sums; DP-SGD without noise on the whole batch (q = 1) must give that sum divided by the batch size.
    static void CheckClippedSum(Sequential model, Tensor x, GradSampleMode mode, double tol = 1e-5, double? clip = null)
    {
        model.To(DType.Float64);
        if (x.DType.IsFloatingPoint()) x = x.To(DType.Float64);
        long b = x.Shape[0];
        var w = Tensor.Randn(model.Forward(x).Shape.ToArray(), DType.Float64, new Generator(17));
        var ps = model.Parameters().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToArray();

        // Per-sample loop.
        var perSample = new double[b][][];
        var norms = new double[b];
        for (long i = 0; i < b; i++)
        {
            model.ZeroGrad();
            foreach (var p in ps) p.Grad = null;
            model.Forward(x.Narrow(0, i, 1)).Mul(w.Narrow(0, i, 1)).Sum().Backward();
            perSample[i] = ps.Select(p => p.Grad?.Contiguous().ToArray<double>() ?? new double[p.NumElements]).ToArray();
            norms[i] = Math.Sqrt(perSample[i].Sum(g => g.Sum(v => v * v)));
        }
        // Clip at the median norm unless told: some samples are clipped, some are not.
        double c = clip ?? norms.Order().ElementAt((int)b / 2);
        var expected = ps.Select(p => new double[p.NumElements]).ToArray();
        for (long i = 0; i < b; i++)
        {
            double factor = Math.Min(1, c / (norms[i] + 1e-6));
            for (int j = 0; j < ps.Length; j++)
                for (int k = 0; k < expected[j].Length; k++) expected[j][k] += factor * perSample[i][j][k];
        }

        var opt = new Sgd(ps, lr: 0);
        var data = new TensorDataset(x, Tensor.Zeros([b], DType.Int64, null));
        var (_, dp) = new PrivacyEngine().MakePrivate(model, opt, new DataLoader(data, (int)b), 0, c, generator: new Generator(1), gradSampleMode: mode);
        using (dp)
        {
            Assert.Equal(mode == GradSampleMode.Auto ? GradSampleMode.Ghost : mode, dp.GradSampleMode);
            foreach (var p in ps) p.Grad = null;
            model.Forward(x).Mul(w).Reshape(b, -1).Sum(1).Mean().Backward();
            opt.Step();
            for (long i = 0; i < b; i++)
                Assert.True(Math.Abs(dp.LastPerSampleNorms[i] - norms[i]) <= 1e-4 * (1 + norms[i]), $"sample {i}: norm {dp.LastPerSampleNorms[i]}, loop {norms[i]}");
            for (int j = 0; j < ps.Length; j++)
            {
                var got = ps[j].Grad!.Contiguous().ToArray<double>();
                for (int k = 0; k < got.Length; k++)
                {
                    double e = expected[j][k], g = got[k] * dp.ExpectedBatchSize;
                    Assert.True(Math.Abs(e - g) <= tol * (1 + Math.Abs(e)),
                        $"{mode}: parameter {j} {ps[j].Shape}, element {k}: clipped sum {g}, per-sample loop {e}");
                }
            }
        }
    }

    static void CheckBothModes(Func<Sequential> build, Tensor x)
    {
        foreach (var mode in new[] { GradSampleMode.Ghost, GradSampleMode.Materialized })
        {
            Rng.Default.ManualSeed(21);
            CheckClippedSum(build(), x, mode);
        }
    }

    [Fact]
    public void Linear_on_vectors()
    {
        CheckBothModes(() => new Sequential(new Linear(7, 5), new Tanh(), new Linear(5, 3)), Tensor.Randn([9, 7], DType.Float32, new Generator(1)));
    }

    [Fact]
    public void Linear_on_sequences_through_gram_matrices_and_through_per_sample_gradients()
    {
        // T = 4: the first layer (16 < 6·5) uses the Gram matrices, the last (16 ≥ 5·2) forms the per-sample gradient.
        CheckBothModes(() => new Sequential(new Linear(6, 5), new Tanh(), new Linear(5, 2, bias: false)), Tensor.Randn([5, 4, 6], DType.Float32, new Generator(2)));
    }

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(1, 2, 2)]
    public void Conv2d_any_geometry(int stride, int padding, int dilation)
    {
        CheckBothModes(() => new Sequential(new Nn.Conv2d(2, 3, 3, stride: stride, padding: padding, dilation: dilation), new Tanh(), new Flatten()),
            Tensor.Randn([5, 2, 7, 6], DType.Float32, new Generator(3)));
    }

    [Fact]
    public void Conv2d_with_few_output_positions_uses_the_gram_matrices()
    {
        // L = 4 output positions: L·(36 + 8) < 8·36, so the norms come from the 4×4 Gram matrices.
        CheckBothModes(() => new Sequential(new Nn.Conv2d(4, 8, 3, stride: 2), new Tanh(), new Flatten()), Tensor.Randn([5, 4, 5, 5], DType.Float32, new Generator(4)));
    }

    [Fact]
    public void Grouped_and_depthwise_Conv2d()
    {
        CheckBothModes(() => new Sequential(new Nn.Conv2d(4, 6, 3, padding: 1, groups: 2), new Tanh(), new Nn.Conv2d(6, 6, (3, 2), (2, 1), groups: 6), new Flatten()),
            Tensor.Randn([4, 4, 6, 5], DType.Float32, new Generator(5)));
    }

    [Fact]
    public void Conv1d_with_groups_stride_padding_and_dilation()
    {
        CheckBothModes(() => new Sequential(new Conv1d(4, 6, 3, stride: 2, padding: 2, dilation: 2, groups: 2), new Tanh(), new Conv1d(6, 3, 2), new Flatten()),
            Tensor.Randn([5, 4, 11], DType.Float32, new Generator(6)));
    }

    [Fact]
    public void Embedding_with_repeated_ids_and_padding()
    {
        // Eight positions over a table of ten rows (the Gram form) and of five rows (more positions than rows: the table form).
        var ids = Tensor.RandInt(0, 5, [6, 8], new Generator(7));
        CheckBothModes(() => new Sequential(new Embedding(10, 3, paddingIdx: 1), new Linear(3, 2)), ids);
        CheckBothModes(() => new Sequential(new Embedding(5, 3, paddingIdx: 0), new Linear(3, 2)), ids);
    }

    [Fact]
    public void LayerNorm_and_GroupNorm()
    {
        CheckBothModes(() => new Sequential(new Linear(6, 8), new LayerNorm(8), new Tanh(), new Linear(8, 2)), Tensor.Randn([5, 3, 6], DType.Float32, new Generator(8)));
        CheckBothModes(() => new Sequential(new Nn.Conv2d(2, 4, 3, padding: 1), new GroupNorm(2, 4), new Tanh(), new Flatten()), Tensor.Randn([4, 2, 5, 5], DType.Float32, new Generator(9)));
    }

    [Fact]
    public void Recurrent_layers()
    {
        var x = Tensor.Randn([5, 4, 3], DType.Float32, new Generator(10));
        CheckBothModes(() => new Sequential(new LSTM(3, 4, numLayers: 2, batchFirst: true), new Flatten(), new Linear(16, 2)), x);
        CheckBothModes(() => new Sequential(new GRU(3, 4, batchFirst: true, bidirectional: true), new Flatten(), new Linear(32, 2)), x);
        CheckBothModes(() => new Sequential(new RNN(3, 6, batchFirst: true), new Flatten()), x);
    }

    [Fact]
    public void Lstm_with_projection()
    {
        // The projection weight_hr is an affine map of its own at every step: its per-sample gradient is covered too.
        var x = Tensor.Randn([5, 4, 3], DType.Float32, new Generator(11));
        CheckBothModes(() => new Sequential(new LSTM(3, 5, numLayers: 2, batchFirst: true, bidirectional: true, projSize: 2), new Flatten(), new Linear(16, 2)), x);
    }

    [Fact]
    public void Fallback_layers_mix_with_ghost_layers()
    {
        CheckBothModes(() => new Sequential(new Embedding(7, 3, maxNorm: 1.0), new Flatten(), new Linear(12, 2)), Tensor.RandInt(0, 7, [5, 4], new Generator(18)));
    }

    [Fact]
    public void A_layer_called_twice_sums_its_calls_per_sample()
    {
        CheckBothModes(() =>
        {
            var shared = new Linear(4, 4);
            return new Sequential(shared, new Tanh(), shared, new Tanh(), new Linear(4, 2));
        }, Tensor.Randn([6, 4], DType.Float32, new Generator(11)));
    }

    [Fact]
    public void Without_clipping_the_sum_is_the_plain_gradient()
    {
        Rng.Default.ManualSeed(12);
        CheckClippedSum(new Sequential(new Nn.Conv2d(2, 3, 3), new Tanh(), new Flatten(), new Linear(27, 2)),
            Tensor.Randn([4, 2, 5, 5], DType.Float32, new Generator(12)), GradSampleMode.Ghost, clip: double.PositiveInfinity);
    }

    [Fact]
    public void Auto_is_ghost_for_flat_clipping_and_materialized_for_per_layer_clipping()
    {
        var data = new TensorDataset(Tensor.Randn(8, 3), Tensor.Zeros([8], DType.Int64, null));
        var model = new Sequential(new Linear(3, 2));
        var opt = new Sgd(model.Parameters(), lr: 0.1);
        var engine = new PrivacyEngine();
        using (var flat = engine.MakePrivate(model, opt, new DataLoader(data, 4), 1, 1).Training)
            Assert.Equal(GradSampleMode.Ghost, flat.GradSampleMode);
        using (var perLayer = engine.MakePrivate(model, opt, new DataLoader(data, 4), 1, 1, ClippingMode.PerLayer).Training)
            Assert.Equal(GradSampleMode.Materialized, perLayer.GradSampleMode);
        var e = Assert.Throws<ArgumentException>(() => engine.MakePrivate(model, opt, new DataLoader(data, 4), 1, 1, ClippingMode.PerLayer, gradSampleMode: GradSampleMode.Ghost));
        Assert.Contains("flat clipping", e.Message);
    }

    // A head whose weight is the embedding table (tied weights): a parameter shared by two layers.
    sealed class TiedHead : Module
    {
        public TiedHead(Embedding embedding) => RegisterParameter("weight", embedding.Weight);

        public override Tensor Forward(Tensor x) => Functional.Linear(x, GetParameter("weight")!);
    }

    [Fact]
    public void Tied_parameters_use_materialized_gradients()
    {
        Rng.Default.ManualSeed(13);
        var emb = new Embedding(6, 3);
        var model = new Sequential(emb, new TiedHead(emb));
        var ids = Tensor.RandInt(0, 6, [4, 3], new Generator(13));
        var data = new TensorDataset(ids, Tensor.Zeros([4], DType.Int64, null));
        var opt = new Sgd(model.Parameters().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>(), lr: 0.1);
        var engine = new PrivacyEngine();
        var e = Assert.Throws<NotSupportedException>(() => engine.MakePrivate(model, opt, new DataLoader(data, 4), 1, 1, gradSampleMode: GradSampleMode.Ghost));
        Assert.Contains("share a parameter", e.Message);
        using (var dp = engine.MakePrivate(model, opt, new DataLoader(data, 4), 1, 1).Training)
            Assert.Equal(GradSampleMode.Materialized, dp.GradSampleMode);
        CheckClippedSum(model, ids, GradSampleMode.Materialized);
    }

    [Fact]
    public void Ghost_and_materialized_training_take_the_same_steps_and_spend_the_same_epsilon()
    {
        var gen = new Generator(14);
        var x = Tensor.Randn([60, 6], DType.Float32, gen).Mul(3);
        var y = x.Narrow(1, 0, 1).Reshape(60).Gt(Tensor.Zeros(60)).To(DType.Int64);
        var data = new TensorDataset(x, y);
        var results = new List<(float[][] Parameters, double Epsilon, long Steps)>();
        foreach (var mode in new[] { GradSampleMode.Ghost, GradSampleMode.Materialized })
        {
            Rng.Default.ManualSeed(15);
            var model = new Sequential(new Linear(6, 8), new Tanh(), new Linear(8, 2));
            var opt = new Sgd(model.Parameters(), lr: 0.5);
            model.Compile(opt, "sparse_categorical_crossentropy");
            var (loader, dp) = new PrivacyEngine().MakePrivate(model, opt, new DataLoader(data, 10), 1.1, 0.5, generator: new Generator(16), gradSampleMode: mode);
            model.Fit(loader, epochs: 2, verbose: 0);
            results.Add((model.Parameters().Select(p => p.ToArray<float>()).ToArray(), dp.GetEpsilon(1e-5), dp.Accountant.TotalSteps));
            dp.Dispose();
        }
        Assert.Equal(results[0].Steps, results[1].Steps);
        Assert.Equal(results[0].Epsilon, results[1].Epsilon, 1e-12);
        for (int j = 0; j < results[0].Parameters.Length; j++)
            for (int k = 0; k < results[0].Parameters[j].Length; k++)
                Assert.Equal(results[0].Parameters[j][k], results[1].Parameters[j][k], 1e-5);
    }

    [Fact]
    public void ClipAndSum_refuses_a_missing_pass_and_a_bad_norm()
    {
        using var ps = new PerSampleGradients(new Sequential(new Linear(2, 2)));
        Assert.Contains("no forward pass", Assert.Throws<InvalidOperationException>(() => ps.ClipAndSum(1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ps.ClipAndSum(0));
    }
}
