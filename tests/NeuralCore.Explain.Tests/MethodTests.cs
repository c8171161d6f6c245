using NeuralCore.Nn;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralCore.Explain.Tests;

/// <summary>Options, shapes, error messages and the PNG output.</summary>
public class MethodTests
{
    [Fact]
    public void SmoothGradWithoutNoiseIsTheMethodItself()
    {
        var model = Models.Cnn(seed: 5);
        var x = Models.Randn(new Generator(6), 3, 1, 8, 8);
        var plain = Saliency.Attribute(model, x, target: 1).ToArray<float>();
        var smooth = SmoothGrad.Saliency(model, x, target: 1, samples: 3, noiseFraction: 0).ToArray<float>();
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], smooth[i], 1e-5);
        var noisy = SmoothGrad.IntegratedGradients(model, x, target: 1, steps: 4, samples: 2, generator: new Generator(7));
        var again = SmoothGrad.IntegratedGradients(model, x, target: 1, steps: 4, samples: 2, generator: new Generator(7));
        Assert.Equal(noisy.ToArray<float>(), again.ToArray<float>());
        Assert.NotEqual(plain, noisy.ToArray<float>());
    }

    [Fact]
    public void ModelModesAndParameterGradientsAreRestored()
    {
        var model = Models.Mlp(4, seed: 3);
        model.Train();
        model[1].Eval();
        _ = IntegratedGradients.Attribute(model, Tensor.Ones(2, 4), steps: 2);
        Assert.True(model.IsTraining);
        Assert.False(model[1].IsTraining);
        Assert.All(model.Parameters(), p => { Assert.True(p.RequiresGrad); Assert.Null(p.Grad); });
    }

    [Fact]
    public void OcclusionWindowsAverageOverlaps()
    {
        // f = sum of inputs: occluding a window drops f by the window's sum, so with window 2 stride 1 on [1, 3]
        // the middle feature averages the drops of both windows.
        var model = new Sequential(new Linear(3, 1, bias: false));
        using (Tensor.NoGrad()) model.Parameters().First().Fill_(1);
        var a = Occlusion.Attribute(model, Tensor.FromArray(new[] { 1f, 2f, 4f }, 1, 3), window: [2], strides: [1]).ToArray<float>();
        Assert.Equal(new[] { 3f, 4.5f, 6f }, a);
    }

    [Fact]
    public void PermutationImportanceRanksFeatures()
    {
        var fc = new Linear(3, 1);
        using (Tensor.NoGrad()) { fc.Weight.Copy_(Tensor.FromArray(new[] { 3f, 1f, 0f }, 1, 3)); fc.Bias!.Zero_(); }
        var model = new Sequential(fc);
        var x = Models.Randn(new Generator(8), 200, 3);
        var y = model.Forward(x).Detach();
        var r = PermutationImportance.Compute(model, x, y, PermutationImportance.NegativeMeanSquaredError, repeats: 4, generator: new Generator(9));
        Assert.Equal(0, r.BaselineScore, 10);
        Assert.True(r.Mean[0] > 4 * r.Mean[1] && r.Mean[1] > 0.5);   // expected drops 2·w²·Var: 18 and 2
        Assert.Equal(0, r.Mean[2], 10);                              // a feature the model ignores
        Assert.Equal(0, r.Std[2], 10);
        Assert.True(r.Std[0] > 0);

        var classifier = Models.Linear(3, 2, seed: 4);
        var labels = classifier.Forward(x).ArgMax(dim: 1);
        var acc = PermutationImportance.Compute(new Sequential(classifier), x, labels, PermutationImportance.Accuracy, repeats: 2, generator: new Generator(1));
        Assert.Equal(1.0, acc.BaselineScore);
        Assert.All(acc.Mean, m => Assert.InRange(m, 0, 1));
    }

    [Fact]
    public void BadInputsNameTheProblem()
    {
        var model = Models.Cnn(seed: 1);
        var x = Tensor.Zeros(2, 1, 8, 8);
        Assert.Contains("[N, ...]", Assert.Throws<ArgumentException>(() => Saliency.Attribute(model, Tensor.Zeros(8))).Message);
        Assert.Contains("Int64", Assert.Throws<ArgumentException>(() => Saliency.Attribute(model, Tensor.Zeros([2, 1, 8, 8], DType.Int64))).Message);
        Assert.Contains("[0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => Saliency.Attribute(model, x, target: 3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => IntegratedGradients.Attribute(model, x, steps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => IntegratedGradients.Attribute(model, x, maxBatchElements: 0));
        Assert.Contains("baselines", Assert.Throws<ArgumentException>(() => IntegratedGradients.Attribute(model, x, baselines: Tensor.Zeros(3, 1, 8, 8))).Message);
        Assert.Throws<ArgumentException>(() => Occlusion.Attribute(model, x, window: [2, 2]));
        Assert.Throws<ArgumentException>(() => Occlusion.Attribute(model, x, window: [1, 9, 2]));
        Assert.Contains("[N, C, h, w]", Assert.Throws<ArgumentException>(() => GradCam.Attribute(model, model[6], x)).Message);
        Assert.Throws<InvalidOperationException>(() => GradCam.Attribute(model, new ReLU(), x));
        Assert.Throws<ArgumentException>(() => Lime.Explain(model, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => SmoothGrad.Saliency(model, x, samples: 0));
        Assert.Throws<ArgumentException>(() => PermutationImportance.Compute(model, x, Tensor.Zeros(2), PermutationImportance.Accuracy));
    }

    [Fact]
    public void HeatmapPngColoursSignAndEnlargesSmallImages()
    {
        var attribution = Tensor.FromArray(new[] { 1f, -1f, 0f, 0.5f }, 2, 2);
        var image = Tensor.FromArray(new[] { 0f, 0f, 1f, 1f }, 1, 2, 2);
        var bytes = Heatmap.EncodePng(attribution, image, new HeatmapOptions { MinSize = 10, Alpha = 1 });
        using var png = Image.Load<Rgb24>(bytes);
        Assert.Equal(10, png.Width);                   // factor 5
        Assert.Equal(10, png.Height);
        var positive = png[0, 0];
        var negative = png[9, 0];
        Assert.True(positive.R > 150 && positive.B < 80, $"positive {positive}");
        Assert.True(negative.B > 150 && negative.R < 80, $"negative {negative}");
        Assert.Equal(new Rgb24(255, 255, 255), png[0, 9]);   // zero attribution leaves the white pixel
        var unsigned = Heatmap.Render(attribution.Abs(), null, new HeatmapOptions { MinSize = 1 });
        Assert.Equal(2, unsigned.Width);
        Assert.True(unsigned[1, 0].R > unsigned[0, 1].R);     // |1| is brighter than |0|
        string path = Path.Combine(Path.GetTempPath(), $"heatmap-{Guid.NewGuid():N}.png");
        Heatmap.SavePng(path, attribution, image);
        Assert.True(new FileInfo(path).Length > 0);
        File.Delete(path);
        Assert.Throws<ArgumentException>(() => Heatmap.Render(attribution, Tensor.Zeros(1, 3, 3)));
        Assert.Throws<ArgumentException>(() => Heatmap.Render(attribution, image, new HeatmapOptions { Alpha = 2 }));
    }

    [Fact]
    public void SpearmanHandlesTiesAndSign()
    {
        var a = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f }, 4);
        Assert.Equal(1, RankCorrelation.Spearman(a, a * 10f), 12);
        Assert.Equal(-1, RankCorrelation.Spearman(a, -a), 12);
        Assert.Equal(1, RankCorrelation.Spearman(a, -a, absolute: true), 12);
        var tied = Tensor.FromArray(new[] { 1f, 1f, 2f, 2f }, 4);
        Assert.Equal(2 / Math.Sqrt(5), RankCorrelation.Spearman(a, tied), 12);
        Assert.Throws<ArgumentException>(() => RankCorrelation.Spearman(a, Tensor.Zeros(3)));
    }
}
