using NeuralCore.Nn;
using NeuralCore.Privacy.PerSample;

namespace NeuralCore.Privacy.Tests;

public class PerSampleGradientTests
{
    // Loss = Σ over the batch of <w, f(x_b)> with a fixed random w: every sample's gradient differs.
    static void CheckAgainstBatchesOfOne(Sequential model, Tensor x, bool expectFallback = false, double tol = 1e-5)
    {
        var gen = new Generator(7);
        Tensor? weights = null;
        Tensor Loss(Tensor input)
        {
            var y = model.Forward(input);
            weights ??= Tensor.Randn(y.Shape.ToArray()[1..], DType.Float32, gen);
            return y.Mul(weights).Sum();
        }
        using var ps = new PerSampleGradients(model);
        Assert.Equal(expectFallback, ps.FallbackLayers.Count > 0);
        model.ZeroGrad();
        Loss(x).Backward();
        var perSample = ps.Compute();
        ps.Clear();
        var parameters = model.Parameters().ToArray();
        for (long i = 0; i < x.Shape[0]; i++)
        {
            model.ZeroGrad();
            Loss(x.Narrow(0, i, 1)).Backward();
            ps.Clear();
            foreach (var p in parameters)
            {
                var expected = p.Grad!.ToArray<float>();
                var got = perSample[p][i].Contiguous().ToArray<float>();
                Assert.Equal(expected.Length, got.Length);
                for (int k = 0; k < expected.Length; k++)
                    Assert.True(Math.Abs(expected[k] - got[k]) <= tol * (1 + Math.Abs(expected[k])),
                        $"sample {i}, parameter {p.Shape}, element {k}: per-sample {got[k]}, batch of one {expected[k]}");
            }
        }
    }

    [Fact]
    public void Linear_matches_batches_of_one()
    {
        Rng.Default.ManualSeed(1);
        CheckAgainstBatchesOfOne(new Sequential(new Linear(5, 4), new Tanh(), new Linear(4, 3)), Tensor.Randn(6, 5));
    }

    [Fact]
    public void Linear_on_sequences_matches_batches_of_one()
    {
        Rng.Default.ManualSeed(2);
        CheckAgainstBatchesOfOne(new Sequential(new Linear(5, 4), new Tanh(), new Linear(4, 2)), Tensor.Randn(3, 7, 5));
    }

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(1, 2, 2)]
    [InlineData(3, 1, 2)]
    public void Conv2d_matches_batches_of_one(int stride, int padding, int dilation)
    {
        Rng.Default.ManualSeed(3);
        var model = new Sequential(new Conv2d(2, 3, 3, stride: stride, padding: padding, dilation: dilation), new Tanh(), new Flatten());
        CheckAgainstBatchesOfOne(model, Tensor.Randn(4, 2, 9, 8));
    }

    [Fact]
    public void Embedding_with_padding_matches_batches_of_one()
    {
        Rng.Default.ManualSeed(4);
        var model = new Sequential(new Embedding(11, 4, paddingIdx: 0), new Linear(4, 3));
        var idx = Tensor.RandInt(0, 11, [5, 6], new Generator(5));
        CheckAgainstBatchesOfOne(model, idx);
    }

    [Fact]
    public void LayerNorm_matches_batches_of_one()
    {
        Rng.Default.ManualSeed(6);
        CheckAgainstBatchesOfOne(new Sequential(new Linear(6, 8), new LayerNorm(8), new Linear(8, 2)), Tensor.Randn(4, 3, 6));
        CheckAgainstBatchesOfOne(new Sequential(new LayerNorm([3, 4])), Tensor.Randn(5, 3, 4));
    }

    [Fact]
    public void GroupNorm_matches_batches_of_one()
    {
        Rng.Default.ManualSeed(7);
        var model = new Sequential(new Conv2d(2, 4, 3, padding: 1), new GroupNorm(2, 4), new Tanh(), new Flatten());
        using (Tensor.NoGrad())
        {
            // Non-trivial affine parameters, so both per-sample terms matter.
            ((GroupNorm)model[1]).Weight!.Copy_(Tensor.FromArray(new float[] { 0.5f, 1.5f, -1f, 2f }, 4));
            ((GroupNorm)model[1]).Bias!.Copy_(Tensor.FromArray(new float[] { 0.1f, -0.2f, 0.3f, 0f }, 4));
        }
        CheckAgainstBatchesOfOne(model, Tensor.Randn(3, 2, 5, 5));
        CheckAgainstBatchesOfOne(new Sequential(new Linear(3, 6), new GroupNorm(3, 6)), Tensor.Randn(4, 3));
    }

    [Fact]
    public void Nested_sequential_layers_are_reached()
    {
        Rng.Default.ManualSeed(8);
        CheckAgainstBatchesOfOne(new Sequential(new Sequential(new Linear(3, 4), new ReLU()), new Linear(4, 2)), Tensor.Randn(5, 3));
    }

    [Fact]
    public void Other_layers_use_the_named_fallback_and_match_batches_of_one()
    {
        Rng.Default.ManualSeed(9);
        var model = new Sequential(new Embedding(7, 3, maxNorm: 1.0), new Flatten(), new Linear(12, 2));
        using (var ps = new PerSampleGradients(model))
            Assert.Equal(["0 (Embedding)"], ps.FallbackLayers);
        CheckAgainstBatchesOfOne(model, Tensor.RandInt(0, 7, [4, 4], new Generator(9)), expectFallback: true);
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(2, 2, 2, 2)]
    [InlineData(1, 1, 1, 4)]
    public void Conv1d_matches_batches_of_one(int stride, int padding, int dilation, int groups)
    {
        Rng.Default.ManualSeed(11);
        var model = new Sequential(new Conv1d(4, 8, 3, stride: stride, padding: padding, dilation: dilation, groups: groups), new Tanh(), new Flatten());
        CheckAgainstBatchesOfOne(model, Tensor.Randn(4, 4, 10));
    }

    [Theory]
    [InlineData(2, 4)]
    [InlineData(4, 4)] // depthwise
    [InlineData(4, 8)] // depthwise with two filters per channel
    public void Grouped_Conv2d_matches_batches_of_one(int groups, int outChannels)
    {
        Rng.Default.ManualSeed(12);
        var model = new Sequential(new Conv2d(4, outChannels, (3, 2), (2, 1), (1, 0), (1, 2), groups), new Tanh(), new Flatten());
        CheckAgainstBatchesOfOne(model, Tensor.Randn(3, 4, 7, 8));
    }

    [Fact]
    public void Recurrent_layers_match_batches_of_one()
    {
        Rng.Default.ManualSeed(10);
        CheckAgainstBatchesOfOne(new Sequential(new RNN(3, 4, batchFirst: true), new Flatten(), new Linear(20, 2)), Tensor.Randn(3, 5, 3));
        CheckAgainstBatchesOfOne(new Sequential(new LSTM(3, 4, numLayers: 2, batchFirst: true), new Flatten(), new Linear(20, 2)), Tensor.Randn(3, 5, 3));
        CheckAgainstBatchesOfOne(new Sequential(new GRU(3, 4, batchFirst: true, bidirectional: true), new Flatten(), new Linear(40, 2)), Tensor.Randn(3, 5, 3));
        CheckAgainstBatchesOfOne(new Sequential(new RNN(3, 4, bias: false, batchFirst: true), new Flatten()), Tensor.Randn(4, 2, 3));
    }

    [Fact]
    public void Batch_norm_is_refused_with_a_pointer_to_per_sample_normalization()
    {
        var model = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new Linear(4, 2));
        var e = Assert.Throws<NotSupportedException>(() => new PerSampleGradients(model));
        Assert.Contains("\"1\"", e.Message);
        Assert.Contains("BatchNorm1d", e.Message);
        Assert.Contains("GroupNorm", e.Message);
    }

    [Fact]
    public void Compute_without_a_captured_pass_says_so()
    {
        using var ps = new PerSampleGradients(new Sequential(new Linear(2, 2)));
        var e = Assert.Throws<InvalidOperationException>(() => ps.Compute());
        Assert.Contains("no forward pass", e.Message);
    }
}
