using NeuralCore.Nn;

namespace NeuralCore.Explain.Tests;

/// <summary>On f(x) = w·x + c every method has a closed form; each is reproduced here.</summary>
public class LinearModelTests
{
    const int Features = 6, Target = 1;
    readonly Linear model = Models.Linear(Features, 3, seed: 7);
    readonly Tensor x = Models.Randn(new Generator(11), 4, Features);
    readonly Tensor b = Models.Randn(new Generator(12), 1, Features);

    double[] W => model.Weight[Target].ToArray<double>();
    double[] Row(Tensor t, int i) => t[i].ToArray<double>();

    static void Close(double expected, double actual, double tol) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Fact]
    public void SaliencyIsTheWeightRow()
    {
        var signed = Saliency.Attribute(model, x, Target, abs: false);
        var abs = Saliency.Attribute(model, x, Target);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < Features; j++)
            {
                Close(W[j], Row(signed, i)[j], 1e-6);
                Close(Math.Abs(W[j]), Row(abs, i)[j], 1e-6);
            }
    }

    [Fact]
    public void GradientTimesInputIsWeightTimesInput()
    {
        var a = GradientTimesInput.Attribute(model, x, Target);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < Features; j++) Close(W[j] * Row(x, i)[j], Row(a, i)[j], 1e-5);
    }

    [Theory]
    [InlineData(IntegrationRule.Trapezoid, 1)]
    [InlineData(IntegrationRule.GaussLegendre, 1)]
    [InlineData(IntegrationRule.GaussLegendre, 7)]
    public void IntegratedGradientsIsWeightTimesDistanceFromBaseline(IntegrationRule rule, int steps)
    {
        var r = IntegratedGradients.Attribute(model, x, Target, b, steps, rule);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < Features; j++) Close(W[j] * (Row(x, i)[j] - Row(b, 0)[j]), Row(r.Attributions, i)[j], 1e-5);
        Assert.True(r.MaxRelativeDelta < 1e-5, $"delta {r.MaxRelativeDelta}");
    }

    [Fact]
    public void SmoothGradOfTheGradientIsTheWeightRow()
    {
        var a = SmoothGrad.Saliency(model, x, Target, samples: 5, abs: false, generator: new Generator(3));
        for (int j = 0; j < Features; j++) Close(W[j], Row(a, 2)[j], 1e-5);
    }

    [Fact]
    public void OcclusionOfOneFeatureIsWeightTimesDistanceFromBaselineValue()
    {
        const double baseline = 0.25;
        var a = Occlusion.Attribute(model, x, window: [1], target: Target, baseline: baseline);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < Features; j++) Close(W[j] * (Row(x, i)[j] - baseline), Row(a, i)[j], 1e-5);
    }

    [Fact]
    public void KernelShapIsWeightTimesDistanceFromTheBackgroundMean()
    {
        var background = Models.Randn(new Generator(13), 16, Features);
        var mean = background.Mean(0).ToArray<double>();
        foreach (int coalitions in new[] { 62, 40 })   // exact enumeration (2^6 − 2 = 62), then sampled
        {
            var r = KernelShap.Explain(model, x, background, Target, maxCoalitions: coalitions, generator: new Generator(5));
            Assert.Equal(coalitions == 62, r[0].Exact);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < Features; j++) Close(W[j] * (Row(x, i)[j] - mean[j]), r[i].Values[j], 1e-4);
        }
    }

    [Fact]
    public void LimeContinuousCoefficientsAreTheWeights()
    {
        var r = Lime.ExplainContinuous(model, x[..1], Tensor.Full([Features], 0.5), Target, samples: 400, kernelWidth: 0.3,
            ridge: 1e-6, generator: new Generator(9));
        for (int j = 0; j < Features; j++) Close(W[j], r.Coefficients[j], 1e-3);
        Assert.True(r.R2 > 0.9999, $"R² {r.R2}");
        var bias = model.Bias![Target].Item<double>();
        Close(bias, r.Intercept, 1e-3);
    }

    [Fact]
    public void LimeBinaryCoefficientsAreWeightTimesDistanceFromBaseline()
    {
        var r = Lime.Explain(model, x[..1], Target, baseline: b, samples: 300, ridge: 1e-6, generator: new Generator(10));
        for (int j = 0; j < Features; j++) Close(W[j] * (Row(x, 0)[j] - Row(b, 0)[j]), r.Coefficients[j], 1e-3);
        Assert.True(r.R2 > 0.9999, $"R² {r.R2}");
    }

    [Fact]
    public void ImageShapedInputsKeepTheirShape()
    {
        var net = new Sequential(new Flatten(), model);
        var images = x.Reshape(4, 1, 2, 3);
        var ig = IntegratedGradients.Attribute(net, images, Target, steps: 3);
        Assert.Equal(images.Shape, ig.Attributions.Shape);
        var occ = Occlusion.Attribute(net, images, window: [1, 1, 1], target: Target);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < Features; j++) Close(W[j] * Row(x, i)[j], occ.Reshape(4, Features)[i].ToArray<double>()[j], 1e-5);
    }
}
