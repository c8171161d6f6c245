using NeuralCore.Explain;
using NeuralCore.Nn;
using NeuralCore.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralCore.Samples;

/// <summary>
/// The sample's <c>--explain N</c> step: why the trained model predicts what it does for the first N test images,
/// by integrated gradients (with its completeness check), SmoothGrad, occlusion and, for the CNN, Grad-CAM.
/// Each image gets one PNG strip: input | integrated gradients | SmoothGrad | occlusion | Grad-CAM.
/// </summary>
public static class FashionMnistExplain
{
    /// <summary>Explains the first <paramref name="count"/> test images; returns the largest relative completeness delta.</summary>
    public static double Run(Sequential model, FashionMnist test, int count, string outDirectory, bool cnn)
    {
        var device = model.Parameters().First().Device;
        var images = test.Images[..count].To(device);
        long[] predicted;
        using (Tensor.NoGrad()) predicted = model.Forward(images).ArgMax(dim: 1).To(Device.Cpu).ToArray<long>();
        string folder = Path.Combine(outDirectory, "explain");
        Directory.CreateDirectory(folder);
        // The ReLU after the second convolution: the last 14×14 feature maps before pooling.
        Module? camLayer = cnn ? model[4] : null;
        double worst = 0;
        for (int i = 0; i < count; i++)
        {
            var x = images[i..(i + 1)];
            int target = (int)predicted[i];
            // Integrated gradients from a black image. ReLU and max-pool make the path's integrand piecewise smooth,
            // so the trapezoid rule with many intervals keeps the completeness gap small.
            var ig = IntegratedGradients.Attribute(model, x, target, steps: 512, rule: IntegrationRule.Trapezoid);
            var smooth = SmoothGrad.Saliency(model, x, target, samples: 32, noiseFraction: 0.15);
            var occlusion = Occlusion.Attribute(model, x, window: [1, 4, 4], strides: [1, 2, 2], target: target);
            var cam = camLayer is null ? null : GradCam.Attribute(model, camLayer, x, target);
            worst = Math.Max(worst, ig.MaxRelativeDelta);
            Console.WriteLine($"  image {i}: predicted {test.Classes[target],-12} f(x) − f(black) = {ig.Outputs[0] - ig.BaselineOutputs[0]:F4}, " +
                              $"Σ IG = {ig.AttributionSums[0]:F4}, completeness delta {100 * ig.RelativeDelta[0]:F3} %");

            var panels = new List<Image<Rgb24>>
            {
                Heatmap.Render(Tensor.Zeros(28, 28), x[0]),
                Heatmap.Render(ig.Attributions[0], x[0]),
                Heatmap.Render(smooth[0], x[0]),
                Heatmap.Render(occlusion[0], x[0]),
            };
            if (cam is not null) panels.Add(Heatmap.Render(cam[0], x[0]));
            string path = Path.Combine(folder, $"image{i}-{test.Classes[target].Replace('/', '-').Replace(' ', '-').ToLowerInvariant()}.png");
            SaveStrip(panels, path);
        }
        Console.WriteLine($"explanations: {folder} (input | integrated gradients | SmoothGrad | occlusion{(cnn ? " | Grad-CAM" : "")}); " +
                          $"largest completeness delta {100 * worst:F3} %");
        return worst;
    }

    static void SaveStrip(List<Image<Rgb24>> panels, string path)
    {
        const int gap = 4;
        int w = panels[0].Width, h = panels[0].Height;
        using var strip = new Image<Rgb24>(panels.Count * (w + gap) - gap, h, new Rgb24(255, 255, 255));
        for (int p = 0; p < panels.Count; p++)
        {
            using var panel = panels[p];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) strip[p * (w + gap) + x, y] = panel[x, y];
        }
        strip.SaveAsPng(path);
    }
}
