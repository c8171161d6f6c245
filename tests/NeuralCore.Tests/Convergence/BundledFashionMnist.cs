using NeuralCore.Data;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Convergence;

/// <summary>
/// The real 6,000/1,000-image Fashion-MNIST subset bundled with samples/FashionMnist; the project reference to the
/// sample copies it next to this assembly, so tests that use it run everywhere (no package or network needed).
/// </summary>
internal static class BundledFashionMnist
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist-subset");

    /// <summary>The first <paramref name="count"/> training images (the bundled split is class-balanced throughout).</summary>
    public static Dataset Train(int count, ITransform? transform = null) =>
        new Subset(new FashionMnist(Directory, train: true, download: false, transform: transform), Enumerable.Range(0, count));
}
