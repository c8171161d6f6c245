using Xunit.Abstractions;

namespace NeuralCore.Explain.Tests;

/// <summary>Checks that need a trained model: Grad-CAM localisation and the model-randomization sanity check.</summary>
public class TrainedModelTests(PlantedSquare task, ITestOutputHelper output) : IClassFixture<PlantedSquare>
{
    int[] SquareImages => Enumerable.Range(0, 64).Where(i => task.Positions[i] is not null).ToArray();

    static bool Inside((int Row, int Col) square, int r, int c, int margin) =>
        r >= square.Row - margin && r < square.Row + PlantedSquare.Square + margin &&
        c >= square.Col - margin && c < square.Col + PlantedSquare.Square + margin;

    [Fact]
    public void GradCamPeaksOnThePlantedSquare()
    {
        Assert.True(task.Accuracy >= 0.95, $"the detector trained to {task.Accuracy:P0} only");
        var idx = SquareImages;
        var images = task.TestImages.IndexSelect(0, Tensor.FromArray(idx.Select(i => (long)i).ToArray(), idx.Length));
        var cam = GradCam.Attribute(task.Model, task.Model[3], images, target: 1, maxBatchElements: 8 * 256);
        Assert.Equal(new long[] { idx.Length, 16, 16 }, cam.Shape.ToArray());
        var maps = cam.ToArray<float>();
        int hits = 0;
        double inside = 0, outside = 0;
        for (int k = 0; k < idx.Length; k++)
        {
            var square = task.Positions[idx[k]]!.Value;
            int best = 0;
            double sumIn = 0, sumOut = 0;
            for (int p = 0; p < 256; p++)
            {
                if (maps[k * 256 + p] > maps[k * 256 + best]) best = p;
                if (Inside(square, p / 16, p % 16, 0)) sumIn += maps[k * 256 + p]; else sumOut += maps[k * 256 + p];
            }
            if (Inside(square, best / 16, best % 16, 1)) hits++;
            inside += sumIn / 16;
            outside += sumOut / 240;
        }
        output.WriteLine($"accuracy {task.Accuracy:P1}; Grad-CAM peak within one pixel of the square in {hits}/{idx.Length} images; " +
                         $"mean map inside {inside / idx.Length:F3} vs outside {outside / idx.Length:F3}");
        Assert.True(hits >= 0.9 * idx.Length, $"{hits} of {idx.Length}");
        Assert.True(inside > 5 * outside);
    }

    // Adebayo et al. (2018): attributions of the trained model against those of the same architecture with
    // re-initialized weights, by Spearman's ρ per image. The bound 0.3 is the usual edge of a weak rank correlation;
    // a method that ignored the weights would score near the trained model's agreement with itself (1 for the
    // deterministic methods, the other noise seed for SmoothGrad).
    [Fact]
    public void RandomizingTheWeightsChangesGradientSmoothGradAndGradCamMaps()
    {
        var (images, n) = SquareBatch();
        var randomized = Randomized();
        foreach (var (name, method, absolute) in new (string, Func<Nn.Sequential, Generator, Tensor>, bool)[]
        {
            ("saliency", (m, _) => Saliency.Attribute(m, images, target: 1), true),
            ("SmoothGrad", (m, g) => SmoothGrad.Saliency(m, images, target: 1, samples: 16, generator: g), true),
            ("Grad-CAM", (m, _) => GradCam.Attribute(m, m[3], images, target: 1), false),
        })
        {
            var trained = method(task.Model, new Generator(1));
            double rhoRandom = MeanSpearman(trained, method(randomized, new Generator(1)), n, absolute);
            double rhoSame = MeanSpearman(trained, method(task.Model, new Generator(2)), n, absolute);
            output.WriteLine($"{name}: mean ρ(trained, randomized) = {rhoRandom:F3}; ρ(trained, trained again) = {rhoSame:F3}");
            Assert.True(rhoRandom < 0.3, $"{name}: ρ {rhoRandom}");
            Assert.True(rhoSame > rhoRandom + 0.5, $"{name}: {rhoSame} vs {rhoRandom}");
        }
    }

    // Integrated gradients (like gradient × input) multiplies by x − b, and Adebayo et al. found such maps keep the
    // input's structure after randomization. The check here is that what survives is the input's: the randomized
    // model's |IG| ranks like |x| more than like the trained model's |IG|, while the trained model's |IG| departs from |x|.
    [Fact]
    public void IntegratedGradientsAfterRandomizationFollowTheInputNotTheTrainedModel()
    {
        var (images, n) = SquareBatch();
        var trained = IntegratedGradients.Attribute(task.Model, images, target: 1, steps: 16).Attributions;
        var random = IntegratedGradients.Attribute(Randomized(), images, target: 1, steps: 16).Attributions;
        double rhoModels = MeanSpearman(trained, random, n, true), rhoRandomInput = MeanSpearman(random, images, n, true);
        double rhoTrainedInput = MeanSpearman(trained, images, n, true);
        output.WriteLine($"integrated gradients: ρ(trained, randomized) = {rhoModels:F3}; ρ(randomized, |x|) = {rhoRandomInput:F3}; ρ(trained, |x|) = {rhoTrainedInput:F3}");
        Assert.True(rhoModels < 1 - 0.3, $"ρ {rhoModels}");
        Assert.True(rhoRandomInput > rhoModels + 0.1, $"{rhoRandomInput} vs {rhoModels}");
        Assert.True(rhoTrainedInput < rhoRandomInput - 0.1, $"{rhoTrainedInput} vs {rhoRandomInput}");
    }

    (Tensor Images, int Count) SquareBatch()
    {
        var idx = SquareImages.Take(16).ToArray();
        return (task.TestImages.IndexSelect(0, Tensor.FromArray(idx.Select(i => (long)i).ToArray(), idx.Length)), idx.Length);
    }

    static Nn.Sequential Randomized() => Models.Seeded(new Nn.Sequential(
        new Nn.Conv2d(1, 8, 3, padding: 1), new Nn.ReLU(), new Nn.Conv2d(8, 8, 3, padding: 1), new Nn.ReLU(),
        new Nn.AdaptiveAvgPool2d(1), new Nn.Flatten(), new Nn.Linear(8, 2)), seed: 999);

    static double MeanSpearman(Tensor a, Tensor b, int n, bool absolute) =>
        Enumerable.Range(0, n).Average(i => RankCorrelation.Spearman(a[i], b[i], absolute));
}
