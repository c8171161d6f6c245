using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class ConsoleProgressTests
{
    static TrainingProgress Report(int step, bool completed = false, Dictionary<string, double>? metrics = null) =>
        new(1, 5, step, 938, 0.41234, metrics ?? new Dictionary<string, double> { ["accuracy"] = 0.85123 }, 3210.4, TimeSpan.FromSeconds(7))
        {
            EpochCompleted = completed,
            Elapsed = TimeSpan.FromSeconds(12),
        };

    [Fact]
    public void LiveBar_RedrawsOneLineAndEndsTheEpochWithANewline()
    {
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, liveBar: true, barWidth: 10);

        progress.Report(Report(1));
        progress.Report(Report(938, completed: true, new Dictionary<string, double> { ["accuracy"] = 0.85, ["val_loss"] = 0.5 }));

        var text = output.ToString();
        Assert.StartsWith("\rEpoch 1/5  [>.........] 1/938  loss 0.4123  accuracy 0.8512  3,210 samples/s  ETA 0:07", text);
        Assert.Contains("\rEpoch 1/5  938/938  0:12  loss 0.4123  accuracy 0.8500  val_loss 0.5000", text);
        Assert.EndsWith(Environment.NewLine, text);
        Assert.Single(text.Split(Environment.NewLine), l => l.Length > 0);
    }

    [Fact]
    public void LiveBar_FillsInProportionToTheSteps()
    {
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, liveBar: true, barWidth: 10);

        progress.Report(Report(1));
        output.GetStringBuilder().Clear();
        Thread.Sleep(150);
        progress.Report(Report(469));

        Assert.Contains("[====>.....] 469/938", output.ToString());
    }

    [Fact]
    public void WithoutLiveBar_WritesOneLinePerEpochOnly()
    {
        var output = new StringWriter();
        var progress = new ConsoleProgress(output);

        Assert.False(progress.LiveBar);
        progress.Report(Report(1));
        progress.Report(Report(500));
        Assert.Equal("", output.ToString());
        progress.Report(Report(938, completed: true));

        Assert.Equal($"Epoch 1/5  938/938  0:12  loss 0.4123  accuracy 0.8512  3,210 samples/s{Environment.NewLine}", output.ToString());
    }
}

[Collection(ProcessStateCollection.Name)]
public sealed class FitConsoleOutputTests
{
    [Fact]
    public void Verbose0_WritesNothing_Verbose2_OneLinePerEpoch()
    {
        var original = Console.Out;
        var output = new StringWriter();
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "categorical_crossentropy");
        Console.SetOut(output);
        try
        {
            model.Fit(SyntheticData.Dataset(32, seed: 1), epochs: 1, verbose: 0);
            Assert.Equal("", output.ToString());
            model.Fit(SyntheticData.Dataset(32, seed: 1), epochs: 2, verbose: 2);
        }
        finally
        {
            Console.SetOut(original);
        }

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("Epoch 1/2  1/1", lines[0]);
        Assert.StartsWith("Epoch 2/2  1/1", lines[1]);
    }
}
