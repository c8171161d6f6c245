using System.Globalization;
using System.Text.RegularExpressions;
using NeuralCore.Samples;
using NeuralCore.Tests.Training;
using NeuralCore.Tests.Vision;

namespace NeuralCore.Tests.Samples;

/// <summary>
/// Smoke tests of samples/TinyGpt with tiny settings: the addition task, the text task on the bundled text, and
/// generation from the saved model. They redirect Console.Out and reseed the default generator, so they run alone.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public sealed class TinyGptSampleTests
{
    [Fact]
    public void AdditionTask_TrainsEvaluatesAndSaves()
    {
        using var output = new TempDir();
        double accuracy;
        string text;
        using (var console = new ConsoleCapture())
        {
            accuracy = AdditionTask.Run(TinyGptOptions.Parse(["--task", "add", "--epochs", "2", "--width", "32", "--layers", "1", "--out", output.Path]));
            text = console.Text;
        }
        Assert.Contains("Data: 8,000 training and 2,000 held-out pairs", text);
        var epochs = Regex.Matches(text, @"epoch (\d+): train loss ([0-9.]+)").Select(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, epochs.Length);
        Assert.True(epochs[1] < epochs[0], $"train loss did not fall: {epochs[0]} → {epochs[1]}");
        var final = Regex.Match(text, @"exact match (\d+\.\d\d) % on 2,000 held-out pairs");
        Assert.True(final.Success, text);
        Assert.Equal(Math.Round(accuracy, 2), double.Parse(final.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.InRange(accuracy, 0, 100);
        // Three held-out questions answered through the generator, e.g. "73+38=111   (expected 111)".
        Assert.Equal(3, Regex.Matches(text, @"\d\d\+\d\d=\d*\s+\(expected \d+\)").Count);
        SampleOutputs.NonEmptyFile(Path.Combine(output.Path, AdditionTask.ModelFile));
    }

    [Fact]
    public async Task TextTask_ReportsPerplexity_ThenGenerateStreamsFromTheSavedModel()
    {
        using var output = new TempDir();
        double loss;
        string text;
        using (var console = new ConsoleCapture())
        {
            loss = TextTask.Run(TinyGptOptions.Parse(["--text", TextTask.BundledText, "--epochs", "2", "--steps", "10", "--batch-size", "8",
                "--context", "32", "--width", "32", "--layers", "1", "--max-tokens", "40", "--out", output.Path]));
            text = console.Text;
        }
        Assert.Contains("196,818 characters, 60 distinct", text);
        var epochs = Regex.Matches(text, @"validation loss ([0-9.]+), perplexity ([0-9.]+)").ToArray();
        Assert.Equal(2, epochs.Length);
        double lastLoss = double.Parse(epochs[1].Groups[1].Value, CultureInfo.InvariantCulture);
        double perplexity = double.Parse(epochs[1].Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(Math.Round(loss, 4), lastLoss);
        Assert.Equal(Math.Exp(loss), perplexity, 1);
        // Below a uniform guess over the 60 characters (ln 60 = 4.09) after 20 steps.
        Assert.True(loss < Math.Log(60), $"validation loss {loss}");
        Assert.Equal(2, Regex.Matches(text, "  sample: ").Count);

        string generated;
        using (var console = new ConsoleCapture())
        {
            generated = await TinyGptApp.Generate(TinyGptOptions.Parse(["--generate", "And God said", "--max-tokens", "25", "--out", output.Path]));
            text = console.Text;
        }
        Assert.Equal(25, generated.Length);
        Assert.Contains("And God said" + generated, text);
        Assert.Equal(0, TinyGptApp.Run(["--generate", "In the", "--max-tokens", "5", "--out", output.Path]));
        Assert.Equal(2, TinyGptApp.Run(["--bogus"]));
    }
}
