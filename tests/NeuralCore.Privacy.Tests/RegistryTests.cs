using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Privacy.Tests;

public class RegistryTests
{
    [Fact]
    public void A_registered_private_model_keeps_the_epsilon_it_spent()
    {
        var gen = new Generator(11);
        var x = Tensor.Randn([64, 4], DType.Float32, gen);
        var y = x.Narrow(1, 0, 1).Reshape(64).Gt(Tensor.Zeros(64)).To(DType.Int64);
        Rng.Default.ManualSeed(11);
        var model = new Sequential(new Linear(4, 8), new Tanh(), new Linear(8, 2));
        var opt = new Sgd(model.Parameters(), lr: 0.5);
        model.Compile(opt, "sparse_categorical_crossentropy", ["accuracy"]);
        var (loader, dp) = new PrivacyEngine().MakePrivate(model, opt, new DataLoader(new TensorDataset(x, y), 16), 1.1, 1.0, generator: new Generator(4));
        var history = model.Fit(loader, epochs: 2, verbose: 0, callbacks: [dp.EpsilonCallback(1e-5)]);

        string dir = Path.Combine(Path.GetTempPath(), "neuralcore-dp-registry-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var registry = ModelRegistry.OpenSqlite(dir);
            var registered = registry.Register("dp-clf", model, history, new RegisterOptions
            {
                InputShape = [-1, 4],
                Parameters = new Dictionary<string, string> { ["dp_delta"] = "1e-5", ["dp_noise_multiplier"] = "1.1", ["dp_max_grad_norm"] = "1" },
            });
            var stored = registry.GetVersion("dp-clf", registered.Version);
            Assert.Equal(dp.GetEpsilon(1e-5), stored.Metrics["epsilon"], 12);
            Assert.True(stored.Metrics["epsilon"] > 0);
            Assert.Equal("1e-5", stored.Parameters["dp_delta"]);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
