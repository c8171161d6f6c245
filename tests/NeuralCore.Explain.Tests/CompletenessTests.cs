using Xunit.Abstractions;

namespace NeuralCore.Explain.Tests;

/// <summary>Integrated gradients: attributions sum to f(x) − f(b) within 1 % on nonlinear models (completeness).</summary>
public class CompletenessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(IntegrationRule.GaussLegendre, 32)]
    [InlineData(IntegrationRule.Trapezoid, 64)]
    public void MlpAttributionsSumToOutputChange(IntegrationRule rule, int steps)
    {
        var model = Models.Mlp(10, seed: 21);
        var x = Models.Randn(new Generator(22), 8, 10) * 2f;
        var r = IntegratedGradients.Attribute(model, x, target: 2, steps: steps, rule: rule);
        output.WriteLine($"MLP {rule} {steps}: max relative delta {r.MaxRelativeDelta:E2}, |f(x) − f(b)| from {r.Outputs.Zip(r.BaselineOutputs, (a, b) => Math.Abs(a - b)).Min():F3}");
        Assert.True(r.MaxRelativeDelta < 0.01, $"relative delta {r.MaxRelativeDelta}");
        for (int i = 0; i < 8; i++) Assert.Equal(r.Outputs[i] - r.BaselineOutputs[i], r.AttributionSums[i], 0.01 * Math.Abs(r.Outputs[i] - r.BaselineOutputs[i]));
    }

    [Fact]
    public void CnnAttributionsSumToOutputChange()
    {
        var model = Models.Cnn(seed: 31);
        var x = Models.Randn(new Generator(32), 6, 1, 8, 8);
        var baseline = Tensor.Full([1, 1, 8, 8], -0.5);
        // ReLU and max-pool make the path's integrand piecewise smooth, where the trapezoid rule converges steadily
        // and Gauss–Legendre loses its edge (measured: 64 nodes leave up to 5 %), so this network takes 1024 intervals.
        var r = IntegratedGradients.Attribute(model, x, target: 0, baselines: baseline, steps: 1024, rule: IntegrationRule.Trapezoid);
        output.WriteLine($"CNN Trapezoid 1024: max relative delta {r.MaxRelativeDelta:E2}; per image {string.Join(", ", r.RelativeDelta.Select(d => d.ToString("E1")))}");
        Assert.True(r.MaxRelativeDelta < 0.01, $"relative delta {r.MaxRelativeDelta}");
    }

    [Fact]
    public void FewStepsReportTheirError()
    {
        // One Gauss–Legendre node cannot integrate the ReLU/tanh network's path: the reported delta must show it.
        var model = Models.Cnn(seed: 31);
        var x = Models.Randn(new Generator(32), 6, 1, 8, 8) * 3f;
        var coarse = IntegratedGradients.Attribute(model, x, steps: 1);
        var fine = IntegratedGradients.Attribute(model, x, steps: 64);
        output.WriteLine($"CNN: 1 node {coarse.MaxRelativeDelta:E2}, 64 nodes {fine.MaxRelativeDelta:E2}");
        Assert.True(coarse.MaxRelativeDelta > 10 * fine.MaxRelativeDelta);
    }

    [Fact]
    public void ChunkingDoesNotChangeTheResult()
    {
        var model = Models.Cnn(seed: 41);
        var x = Models.Randn(new Generator(42), 5, 1, 8, 8);
        var whole = IntegratedGradients.Attribute(model, x, steps: 9);
        // 3 rows of 64 elements per chunk: chunks straddle the boundaries between images' path points.
        var chunked = IntegratedGradients.Attribute(model, x, steps: 9, maxBatchElements: 3 * 64);
        var a = whole.Attributions.ToArray<float>();
        var b = chunked.Attributions.ToArray<float>();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-5);
        var occWhole = Occlusion.Attribute(model, x, [1, 2, 2]).ToArray<float>();
        var occChunked = Occlusion.Attribute(model, x, [1, 2, 2], maxBatchElements: 100).ToArray<float>();
        for (int i = 0; i < occWhole.Length; i++) Assert.Equal(occWhole[i], occChunked[i], 1e-5);
    }

    [Fact]
    public void GaussLegendreIntegratesPolynomialsExactly()
    {
        // Through IG on a one-feature model f(x) = x⁴ (a tiny custom module): the integrand 4α³x⁴ has degree 3 in α,
        // which 2 nodes integrate exactly and 1 node does not.
        var model = new Quartic();
        var x = Tensor.FromArray(new[] { 1.5f, -0.7f }, 2, 1);
        var r = IntegratedGradients.Attribute(model, x, steps: 2);
        Assert.Equal(Math.Pow(1.5, 4), r.AttributionSums[0], 4);
        Assert.Equal(Math.Pow(0.7, 4), r.AttributionSums[1], 4);
        var one = IntegratedGradients.Attribute(model, x, steps: 1);
        Assert.Equal(0.5, one.MaxRelativeDelta, 4);   // the midpoint rule gives 4·(1/2)³ = 1/2 of x⁴
    }

    sealed class Quartic : Nn.Module
    {
        public override Tensor Forward(Tensor x) => x.Square().Square().Reshape(x.Shape[0]);
    }
}
