using NeuralCore.Data;
using NeuralCore.Nn;

namespace NeuralCore.Tests.Training;

/// <summary>Small, easily separable datasets shaped like the api.md Keras program's (images [N, 1, 4, 4], 10 classes).</summary>
internal static class SyntheticData
{
    public const int Classes = 10;

    /// <summary>
    /// Gaussian blobs: class c's inputs are a fixed random center (scale 3) plus unit noise, 16 features laid out
    /// as [1, 4, 4]; labels are Int64 class indices, classes interleaved (sample i has class i % 10).
    /// </summary>
    public static (Tensor Inputs, Tensor Labels) Blobs(int count, long seed, long centerSeed = 7)
    {
        var centers = Tensor.Randn([Classes, 16], DType.Float32, new Generator(centerSeed)) * 3f;
        var labels = Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % Classes)).ToArray(), count);
        var noise = Tensor.Randn([count, 16], DType.Float32, new Generator(seed));
        var inputs = (centers.IndexSelect(0, labels) + noise).Reshape(count, 1, 4, 4);
        return (inputs, labels);
    }

    public static TensorDataset Dataset(int count, long seed)
    {
        var (x, y) = Blobs(count, seed);
        return new TensorDataset(x, y);
    }

    /// <summary>The api.md section-2 architecture.</summary>
    public static Sequential KerasModel() => new(
        new Flatten(),
        new Dense(64, activation: Activation.Relu),
        new Dense(32, activation: Activation.Relu),
        new Dense(10));

    public static Tensor OneHot(Tensor labels) =>
        Tensor.Arange(Classes).Eq(labels.Unsqueeze(1)).To(DType.Float32);

    public static float[] Flat(Module model) =>
        model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
}
