using NeuralCore.Nn;
using NeuralCore.Serialization;

namespace NeuralCore.Fuzz.Targets;

/// <summary>Small models covering every registered layer type, saved by the library with deterministic weights.</summary>
public static class ModelSeeds
{
    static readonly DateTimeOffset Created = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    /// <summary>The models and the input shape (batch first) each one runs on.</summary>
    public static IReadOnlyList<(Sequential Model, long[] Input)> Models() =>
    [
        (new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2), new Softmax()), [2, 4]),
        (new Sequential(new Conv2d(1, 2, 3, padding: 1), new BatchNorm2d(2), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(32, 3), new LogSoftmax()), [2, 1, 9, 9]),
        (new Sequential(new Dense(4, 5, Activation.Relu), new Dropout(0.25), new LayerNorm(5), new Dense(5, 2), new Tanh()), [3, 4]),
        (new Sequential(new Conv2d(3, 4, (3, 3), stride: (2, 2), groups: 1), new AvgPool2d(2, ceilMode: true), new GELU(),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, 2, bias: false), new BatchNorm1d(2), new Sigmoid(),
            new LeakyReLU(0.1), new ELU(), new Softplus()), [2, 3, 9, 9]),
    ];

    /// <summary>The model files, as <see cref="Module.Save"/> writes them.</summary>
    public static IReadOnlyList<byte[]> Files()
    {
        var files = new List<byte[]>();
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-fuzz-seed-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            foreach (var (model, input) in Models())
            {
                SetDeterministicWeights(model);
                model.Save(path, new ModelManifest
                {
                    Name = "seed",
                    CreatedUtc = Created,
                    InputShape = [-1, .. input[1..]],
                    TrainingConfig = new Dictionary<string, string> { ["optimizer"] = "sgd" },
                    Seed = 7,
                    Metrics = new Dictionary<string, double> { ["accuracy"] = 0.5 },
                });
                files.Add(File.ReadAllBytes(path));
            }
        }
        finally
        {
            File.Delete(path);
        }
        return files;
    }

    /// <summary>The manifests embedded in <see cref="Files"/>, as JSON.</summary>
    public static IReadOnlyList<byte[]> Manifests() =>
        Files().Select(f => System.Text.Encoding.UTF8.GetBytes(SafeTensors.DeserializeFile(f).Metadata[ModelManifest.MetadataKey])).ToList();

    static void SetDeterministicWeights(Module model)
    {
        var state = new Dictionary<string, Tensor>();
        int k = 0;
        foreach (var (name, t) in model.StateDict())
        {
            var values = new double[t.NumElements];
            for (int i = 0; i < values.Length; i++) values[i] = ((k++ * 37) % 17 - 8) / 16.0;
            state[name] = Tensor.FromArray(values).Reshape(t.Shape.ToArray()).To(t.DType);
        }
        model.LoadStateDict(state);
    }
}
