using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Training;

namespace NeuralCore.Tests.PublicApi;

/// <summary>The program in docs/training.md, compiled verbatim (the test checks the document still holds it) and run.</summary>
[Collection(NeuralCore.Tests.Training.ProcessStateCollection.Name)]
public sealed class TrainingDocTests
{
    [Fact]
    public void TrainingPageProgram_RunsAndDoesWhatThePageSays()
    {
        string logs = Path.Combine(Path.GetTempPath(), "tb-logs");
        Rng.ManualSeed(2);
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try
        {
            // ---- docs/training.md, first code block, verbatim ----
            var (x, y) = (Tensor.Randn(512, 20), Tensor.RandInt(0, 3, [512]));
            var parts = Dataset.RandomSplit(new TensorDataset(x, y), [0.8, 0.2], new Generator(1));

            var model = new Sequential(
                new Dense(64, activation: "relu", kernelRegularizer: Regularizers.L2(1e-4)),
                new Dense(3));
            model.Compile("adam", "sparse_categorical_crossentropy", ["accuracy"]);

            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            History history = model.Fit(parts[0], epochs: 5, batchSize: 32, validationData: parts[1], verbose: 0,
                callbacks: [new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true), new TerminateOnNaN(),
                            new CsvLogger(Path.Combine(Path.GetTempPath(), "training.csv")),
                            new TensorBoard(Path.Combine(Path.GetTempPath(), "tb-logs"), histogramFrequency: 1)],
                cancellationToken: cancel.Token);
            foreach (var message in history.Messages) Console.WriteLine(message);
            // ---- end ----

        // 512 samples split 0.8 / 0.2: floor(409.6) + the one left over = 410 for training.
        Assert.Equal("410", history.Parameters["training_samples"]);
        Assert.Contains("EarlyStopping: restored the weights of epoch", output.ToString());
        var csv = File.ReadAllLines(Path.Combine(Path.GetTempPath(), "training.csv"));
        Assert.Equal(history.Epochs + 1, csv.Length);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(logs, "train"), "events.out.tfevents.*"));
        Assert.True(model.RegularizationLoss().Item<float>() > 0);
        }
        finally
        {
            Console.SetOut(previous);
        }

        // The block above is the page's first code block.
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "training.md"));
        string block = doc.Split("```csharp")[1].Split("```")[0];
        foreach (var line in block.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("using ", StringComparison.Ordinal)))
            Assert.Contains(line, File.ReadAllText(Path.Combine(RepoRoot(), "tests", "NeuralCore.Tests", "PublicApi", "TrainingDocTests.cs")).Split('\n').Select(l => l.Trim()));
        Directory.Delete(logs, recursive: true);
    }

    // The repository root the test project recorded at build time (AssemblyMetadata "RepositoryRoot"), else the folder
    // above the test binaries holding NeuralCore.sln. (Source paths are mapped in CI builds, so the caller's file path
    // cannot be used.)
    static string RepoRoot()
    {
        var recorded = typeof(TrainingDocTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "NeuralCore.sln"))) return Path.GetFullPath(recorded);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralCore.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"NeuralCore.sln not found above {AppContext.BaseDirectory}.");
    }
}
