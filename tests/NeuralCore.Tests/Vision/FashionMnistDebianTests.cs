using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

/// <summary>A fact that runs only when Debian's dataset-fashion-mnist package is installed (CI installs it).</summary>
public sealed class DebianFashionMnistFactAttribute : FactAttribute
{
    public DebianFashionMnistFactAttribute()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DebianDirectory, "t10k-labels-idx1-ubyte.gz")))
            Skip = $"Debian's dataset-fashion-mnist package is not installed (no files in {FashionMnist.DebianDirectory}); apt-get install dataset-fashion-mnist";
    }
}

public class FashionMnistDebianTests
{
    static void CheckSplit(FashionMnist ds, int n)
    {
        Assert.Equal(FashionMnist.DebianDirectory, ds.Source);
        Assert.Equal(n, ds.Count);
        Assert.Equal(new long[] { n, 1, 28, 28 }, ds.Images.Shape.ToArray());
        Assert.Equal(DType.Float32, ds.Images.DType);
        Assert.Equal(0f, ds.Images.Min().Item<float>());
        Assert.Equal(1f, ds.Images.Max().Item<float>());
        float mean = ds.Images.Mean().Item<float>();
        Assert.InRange(mean, 0.25f, 0.32f);   // Fashion-MNIST's published pixel mean is 0.286
        var histogram = new int[10];
        foreach (long label in ds.Labels.ToArray<long>()) histogram[label]++;
        Assert.All(histogram, c => Assert.Equal(n / 10, c));
    }

    [DebianFashionMnistFact]
    public void TestSplit_FromDebianPackage()
    {
        using var dir = new TempDir();
        CheckSplit(new FashionMnist(dir.Path, train: false, download: false), 10_000);
    }

    [DebianFashionMnistFact]
    public void TrainSplit_FromDebianPackage()
    {
        using var dir = new TempDir();
        CheckSplit(new FashionMnist(dir.Path, train: true, download: false), 60_000);
    }
}
