using NeuralCore.Nn;
using NeuralCore.Vision;

namespace NeuralCore.Samples;

/// <summary>
/// What the samples that train on Fashion-MNIST share: finding the data (the full set when it can be found, else the
/// real 6,000/1,000-image subset shipped in <c>samples/FashionMnist/data</c>) and the seed documents' MLP.
/// </summary>
internal static class FashionMnistSample
{
    /// <summary>
    /// The full Fashion-MNIST from <paramref name="dataDirectory"/> or Debian's <c>dataset-fashion-mnist</c> package
    /// (or a download when <paramref name="download"/> is set), unless <paramref name="subset"/> is set or it cannot be
    /// found; then the bundled subset in the app's <c>data/fashion-mnist-subset</c> folder. <paramref name="log"/> gets
    /// one line when the full set is missing.
    /// </summary>
    public static (FashionMnist Train, FashionMnist Test, string Source) LoadData(string dataDirectory, bool subset, bool download, Action<string> log)
    {
        if (!subset)
        {
            try
            {
                var fullTrain = new FashionMnist(dataDirectory, train: true, download: download);
                var fullTest = new FashionMnist(dataDirectory, train: false, download: download);
                return (fullTrain, fullTest, $"full Fashion-MNIST from {fullTrain.Source}");
            }
            catch (Exception e) when (e is IOException or InvalidDataException or HttpRequestException)
            {
                log($"Full Fashion-MNIST not available ({e.Message.Split('\n')[0]}); using the bundled subset.");
            }
        }
        string bundled = Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist-subset");
        return (new FashionMnist(bundled, train: true, download: false), new FashionMnist(bundled, train: false, download: false),
            $"bundled Fashion-MNIST subset ({bundled})");
    }

    /// <summary>The seed documents' model: Flatten → Dense 64 relu → Dense 32 relu → Dense 10 (logits).</summary>
    public static Sequential Mlp() => new(
        new Flatten(),
        new Dense(64, activation: Activation.Relu),
        new Dense(32, activation: Activation.Relu),
        new Dense(10));

    /// <summary>The sample's small CNN (<c>--model cnn</c>): two 3×3 conv + ReLU + 2×2 max-pool blocks, then Dense 64 relu → Dense 10.</summary>
    public static Sequential Cnn() => new(
        new Conv2d(1, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Conv2d(16, 32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Flatten(),
        new Dense(64, activation: Activation.Relu),
        new Dense(10));
}
