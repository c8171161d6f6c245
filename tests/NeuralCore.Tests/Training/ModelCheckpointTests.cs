using NeuralCore.Nn;
using NeuralCore.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class ModelCheckpointTests : IDisposable
{
    readonly string directory = Path.Combine(Path.GetTempPath(), "neuralcore-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    static Sequential CompiledModel()
    {
        Rng.ManualSeed(31);
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
        return model;
    }

    [Fact]
    public void EveryEpoch_WritesAFileNamedAfterTheEpochThatLoadsBack()
    {
        var model = CompiledModel();
        var checkpoint = new ModelCheckpoint(Path.Combine(directory, "ckpt-{epoch:D2}-{loss:F3}.safetensors"), monitor: "loss");

        var history = model.Fit(SyntheticData.Dataset(100, seed: 1), epochs: 3, verbose: 0, callbacks: [checkpoint]);

        var files = Directory.GetFiles(directory).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(3, files.Length);
        Assert.Equal(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"ckpt-03-{history["loss"][2]:F3}.safetensors"), files[2]);
        Assert.StartsWith("ckpt-01-", files[0]);
        Assert.Equal(Path.Combine(directory, files[2]!), checkpoint.LastSavedPath);

        var restored = Sequential.Load(checkpoint.LastSavedPath!);
        var (x, _) = SyntheticData.Blobs(8, seed: 3);
        Tensor expected, actual;
        using (Tensor.NoGrad())
        {
            expected = model.Forward(x);
            actual = restored.Forward(x);
        }
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
        var manifest = SafeTensors.LoadFile(checkpoint.LastSavedPath!).GetManifest();
        Assert.NotNull(manifest);
        Assert.Equal(history["accuracy"][2], manifest.Metrics!["accuracy"]);
    }

    [Fact]
    public void SaveBestOnly_WritesOnlyImprovements()
    {
        var model = CompiledModel();
        // The loss falls every epoch, so in "max" mode only the first epoch is an improvement.
        var checkpoint = new ModelCheckpoint(Path.Combine(directory, "best-{epoch}.safetensors"), monitor: "loss", saveBestOnly: true, mode: "max");

        model.Fit(SyntheticData.Dataset(100, seed: 1), epochs: 3, verbose: 0, callbacks: [checkpoint]);

        Assert.Equal(["best-1.safetensors"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void UnknownPlaceholder_ListsTheLoggedValues()
    {
        var model = CompiledModel();
        var checkpoint = new ModelCheckpoint(Path.Combine(directory, "m-{val_accuracy}.safetensors"));

        var e = Assert.Throws<KeyNotFoundException>(() =>
            model.Fit(SyntheticData.Dataset(20, seed: 1), verbose: 0, callbacks: [checkpoint]));

        Assert.Contains("val_accuracy", e.Message);
        Assert.Contains("loss", e.Message);
    }
}
