using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Privacy.Tests;

public class PrivacyEngineTests
{
    static (TensorDataset Data, Tensor X, Tensor Y) Blobs(int n, long seed)
    {
        var gen = new Generator(seed);
        var x = Tensor.Randn([n, 4], DType.Float32, gen);
        var y = x.Narrow(1, 0, 1).Reshape(n).Gt(Tensor.Zeros(n)).To(DType.Int64);
        return (new TensorDataset(x, y), x, y);
    }

    static Sequential Mlp(long seed)
    {
        Rng.Default.ManualSeed(seed);
        return new Sequential(new Linear(4, 8), new Tanh(), new Linear(8, 2));
    }

    [Fact]
    public void Without_noise_and_clipping_dp_sgd_equals_plain_sgd()
    {
        var (data, _, _) = Blobs(64, 1);
        var plain = Mlp(3);
        var plainOpt = new Sgd(plain.Parameters(), lr: 0.5);
        plain.Compile(plainOpt, "sparse_categorical_crossentropy");
        plain.Fit(data, epochs: 3, batchSize: 64, shuffle: false, verbose: 0);

        var dpModel = Mlp(3);
        var dpOpt = new Sgd(dpModel.Parameters(), lr: 0.5);
        dpModel.Compile(dpOpt, "sparse_categorical_crossentropy");
        // Sampling rate 1: every batch is the whole set, as the plain run's.
        var (loader, dp) = new PrivacyEngine().MakePrivate(dpModel, dpOpt, new DataLoader(data, 64), 0, double.PositiveInfinity, generator: new Generator(5));
        dpModel.Fit(loader, epochs: 3, verbose: 0);
        Assert.Equal(3, dp.Accountant.TotalSteps);

        var a = plain.Parameters().ToArray();
        var b = dpModel.Parameters().ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            var pa = a[i].ToArray<float>();
            var pb = b[i].ToArray<float>();
            for (int k = 0; k < pa.Length; k++) Assert.Equal(pa[k], pb[k], 1e-5);
        }
    }

    // One private step on a fixed batch with the captured pass of an ordinary forward/backward.
    // The loader's batch is the whole set, so q = 1 and the expected batch size is the batch's.
    static (Sequential Model, Sgd Opt, PrivateTraining Dp) OneStep(double sigma, double clip, ClippingMode mode, Tensor x, Tensor y)
    {
        var model = Mlp(11);
        var opt = new Sgd(model.Parameters(), lr: 0);
        var (_, dp) = new PrivacyEngine().MakePrivate(model, opt, new DataLoader(new TensorDataset(x, y), (int)x.Shape[0]), sigma, clip, mode, new Generator(3));
        model.ZeroGrad();
        Functional.CrossEntropy(model.Forward(x), y).Backward();
        opt.Step();
        return (model, opt, dp);
    }

    [Theory]
    [InlineData(ClippingMode.Flat)]
    [InlineData(ClippingMode.PerLayer)]
    public void Every_sample_contributes_at_most_the_clipping_norm(ClippingMode mode)
    {
        var (_, x, y) = Blobs(16, 2);
        x = x.Mul(50); // large inputs: large gradients, so clipping binds
        const double clip = 0.1;
        // Per sample: the private gradient of a batch of one sample, times the expected batch size, is that sample's clipped gradient.
        for (int i = 0; i < 4; i++)
        {
            var (model, _, dp) = OneStep(0, clip, mode, x.Narrow(0, i, 1), y.Narrow(0, i, 1));
            double sq = model.Parameters().Sum(p => p.Grad!.Square().Sum().Item<float>()) * dp.ExpectedBatchSize * dp.ExpectedBatchSize;
            Assert.True(dp.LastPerSampleNorms[0] > clip * 2, "the test needs gradients above the clipping norm");
            // Flat clipping scales the whole gradient to C; per-layer clipping keeps each part within C/√P.
            Assert.InRange(Math.Sqrt(sq), mode == ClippingMode.Flat ? clip * 0.999 : 0, clip * (1 + 1e-4));
        }
    }

    [Fact]
    public void Clipped_sum_scales_each_sample_by_its_own_factor()
    {
        var (_, x, y) = Blobs(8, 4);
        x = x.Mul(10);
        const double clip = 0.5;
        var (model, _, dp) = OneStep(0, clip, ClippingMode.Flat, x, y);
        var norms = dp.LastPerSampleNorms;
        // Rebuild Σ_i min(1, C/n_i) g_i / 8 from batches of one.
        var ps = model.Parameters().ToArray();
        var expected = ps.Select(p => new double[p.NumElements]).ToArray();
        for (int i = 0; i < 8; i++)
        {
            var saved = ps.Select(p => p.Grad).ToArray();
            foreach (var p in ps) p.Grad = null;
            dp.PerSample.Clear();
            Functional.CrossEntropy(model.Forward(x.Narrow(0, i, 1)), y.Narrow(0, i, 1)).Backward();
            dp.PerSample.Clear();
            double factor = Math.Min(1, clip / (norms[i] + 1e-6));
            for (int j = 0; j < ps.Length; j++)
            {
                var g = ps[j].Grad!.ToArray<float>();
                for (int k = 0; k < g.Length; k++) expected[j][k] += factor * g[k] / 8;
            }
            for (int j = 0; j < ps.Length; j++) ps[j].Grad = saved[j];
        }
        for (int j = 0; j < ps.Length; j++)
        {
            var got = ps[j].Grad!.ToArray<float>();
            for (int k = 0; k < got.Length; k++) Assert.Equal(expected[j][k], got[k], 1e-5);
        }
    }

    [Fact]
    public void Added_noise_has_mean_zero_and_std_sigma_times_c_over_the_expected_batch()
    {
        Rng.Default.ManualSeed(1);
        var model = new Sequential(new Linear(100, 50));
        var opt = new Sgd(model.Parameters(), lr: 0);
        var data = new TensorDataset(Tensor.Zeros(400, 100), Tensor.Zeros([400], DType.Int64, null));
        const double sigma = 1.5, clip = 0.8;
        var (_, dp) = new PrivacyEngine().MakePrivate(model, opt, new DataLoader(data, 40), sigma, clip, generator: new Generator(42));
        double sum = 0, sumSq = 0;
        long count = 0;
        for (int draw = 0; draw < 20; draw++)
        {
            opt.Step(); // no captured batch (an empty Poisson batch): the gradient is pure noise
            foreach (var p in model.Parameters())
                foreach (var v in p.Grad!.ToArray<float>())
                {
                    sum += v;
                    sumSq += (double)v * v;
                    count++;
                }
        }
        double mean = sum / count, std = Math.Sqrt(sumSq / count - mean * mean);
        double expectedStd = sigma * clip / 40;
        Assert.InRange(std, expectedStd * 0.98, expectedStd * 1.02);
        Assert.InRange(mean, -4 * expectedStd / Math.Sqrt(count), 4 * expectedStd / Math.Sqrt(count));
        Assert.Equal(20, dp.Accountant.TotalSteps);
    }

    [Fact]
    public void Poisson_batches_have_binomial_sizes_and_can_be_empty()
    {
        var sampler = new PoissonBatchSampler(0.05);
        var gen = new Generator(9);
        var sizes = Enumerable.Range(0, 50).SelectMany(_ => sampler.Sample(1000, gen)).Select(b => (double)b.Length).ToArray();
        Assert.Equal(50 * 20, sizes.Length);
        double mean = sizes.Average(), variance = sizes.Select(s => (s - mean) * (s - mean)).Sum() / (sizes.Length - 1);
        Assert.InRange(mean, 50 - 4 * Math.Sqrt(47.5 / sizes.Length), 50 + 4 * Math.Sqrt(47.5 / sizes.Length));
        Assert.InRange(variance, 47.5 * 0.85, 47.5 * 1.15);
        // Ten records at q = 0.05: P(empty) = 0.95^10 = 0.599.
        var small = Enumerable.Range(0, 200).SelectMany(_ => sampler.Sample(10, gen)).ToArray();
        double emptyShare = small.Count(b => b.Length == 0) / (double)small.Length;
        Assert.InRange(emptyShare, 0.599 - 0.03, 0.599 + 0.03);
        Assert.All(small, b => Assert.Equal(b.Distinct().Count(), b.Length));
    }

    [Fact]
    public void Fit_on_poisson_batches_steps_through_empty_batches_and_logs_epsilon()
    {
        var (data, _, _) = Blobs(10, 5);
        var model = Mlp(6);
        var opt = new Sgd(model.Parameters(), lr: 0.1);
        model.Compile(opt, "sparse_categorical_crossentropy", ["accuracy"]);
        // q = 1/10: an epoch is 10 batches, about a third of them empty.
        var (loader, dp) = new PrivacyEngine().MakePrivate(model, opt, new DataLoader(data, 1), 1.0, 1.0, generator: new Generator(2));
        int empty = 0;
        foreach (var (bx, by) in loader)
        {
            if (bx.Shape[0] == 0)
            {
                empty++;
                Assert.Equal([0L, 4L], bx.Shape.ToArray());
                Assert.Equal(0, by.Shape[0]);
            }
        }
        Assert.True(empty > 0, "the seed should draw an empty batch");
        var lines = new StringWriter();
        var history = model.Fit(loader, epochs: 3, verbose: 0, callbacks: [dp.EpsilonCallback(1e-5)], progress: new ConsoleProgress(lines, liveBar: false));
        Assert.Equal(30, dp.Accountant.TotalSteps);
        var eps = history["epsilon"];
        Assert.Equal(3, eps.Count);
        Assert.True(eps[0] > 0 && eps[0] < eps[1] && eps[1] < eps[2]);
        Assert.Equal(dp.GetEpsilon(1e-5), eps[2], 1e-12);
        Assert.Contains("epsilon", lines.ToString());
    }

    [Fact]
    public void Make_private_with_epsilon_spends_at_most_the_target()
    {
        var (data, _, _) = Blobs(200, 7);
        var model = Mlp(8);
        var opt = new Sgd(model.Parameters(), lr: 0.1);
        model.Compile(opt, "sparse_categorical_crossentropy");
        var (loader, dp) = new PrivacyEngine().MakePrivateWithEpsilon(model, opt, new DataLoader(data, 20), 2.0, 1e-5, epochs: 2, maxGradNorm: 1,
            generator: new Generator(1));
        model.Fit(loader, epochs: 2, verbose: 0);
        Assert.InRange(dp.GetEpsilon(1e-5), 1.98, 2.0);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        var (data, _, _) = Blobs(10, 1);
        var model = Mlp(1);
        var opt = new Sgd(model.Parameters(), lr: 0.1);
        var engine = new PrivacyEngine();
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.MakePrivate(model, opt, new DataLoader(data, 2), -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.MakePrivate(model, opt, new DataLoader(data, 2), 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.MakePrivate(model, opt, new DataLoader(data, 2), 1, double.PositiveInfinity));
        var bn = new Sequential(new Linear(4, 4), new BatchNorm1d(4));
        var e = Assert.Throws<NotSupportedException>(() => engine.MakePrivate(bn, new Sgd(bn.Parameters(), lr: 0.1), new DataLoader(data, 2), 1, 1));
        Assert.Contains("GroupNorm", e.Message);
    }
}
