using System.Text.Json;
using NeuralCore.Samples;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// samples/FashionMnist end to end on the GPU backend (ILGPU's CPU simulator): Fit with validation, Evaluate,
/// Predict, Save and reload. The same command on the CPU backend gives the same history, so the sample trains
/// correctly on the ILGPU kernels, not merely without errors.
/// </summary>
public sealed class SampleTests
{
    // One epoch of 16 images in one batch keeps the simulator's share small (about 40 s alone): each simulated
    // kernel launch costs tens of milliseconds, and the sample's 784-wide first layer makes large GEMM grids.
    const int Images = 16;

    [Fact]
    public void FashionMnistSample_TrainsOnTheSimulatorAsOnTheCpu()
    {
        const string model = "mlp";
        var cpu = RunSample(model, "cpu");
        var sim = RunSample(model, "simulator");

        Assert.Contains("Device: ILGPU CPU accelerator", sim.Text);
        Assert.Contains("reloaded model agrees on the first 8 images: True", sim.Text);
        Assert.Equal(cpu.History.Keys.Order(StringComparer.Ordinal), sim.History.Keys.Order(StringComparer.Ordinal));
        foreach (var key in new[] { "loss", "val_loss" })
            {
                const int epoch = 0;
                double expected = cpu.History[key][epoch], actual = sim.History[key][epoch];
                Assert.True(double.IsFinite(actual), $"{model} {key}[{epoch}] on the simulator is {actual}.");
                Assert.True(Math.Abs(expected - actual) <= 1e-4 * Math.Abs(expected),
                    $"{model} {key}[{epoch}]: CPU {expected:R}, simulator {actual:R}.");
            }
        // Float32 sums run in a different order on the two backends; a prediction on the edge between two classes
        // may flip, so the accuracies may differ by one image.
        foreach (var key in new[] { "accuracy", "val_accuracy" })
            Assert.True(Math.Abs(cpu.History[key][0] - sim.History[key][0]) <= 1.0 / Images + 1e-12,
                $"{model} {key}: CPU {cpu.History[key][0]}, simulator {sim.History[key][0]}.");
        Assert.True(Math.Abs(cpu.Accuracy - sim.Accuracy) <= 1.0 / Images + 1e-12);
    }

    static (double Accuracy, string Text, Dictionary<string, double[]> History) RunSample(string model, string device)
    {
        string output = Path.Combine(Path.GetTempPath(), $"neuralcore-sample-{model}-{device}-{Guid.NewGuid():N}");
        var previous = Console.Out;
        var text = new StringWriter();
        Console.SetOut(text);
        try
        {
            double accuracy = FashionMnistApp.Run(["--subset", "--limit", $"{Images}", "--model", model, "--epochs", "1",
                "--batch-size", $"{Images}", "--device", device, "--seed", "5", "--out", output]);
            var history = JsonSerializer.Deserialize<Dictionary<string, double[]>>(
                File.ReadAllText(Path.Combine(output, $"fashion-{model}-history.json")))!;
            return (accuracy, text.ToString(), history);
        }
        finally
        {
            Console.SetOut(previous);
            Directory.Delete(output, recursive: true);
        }
    }
}
