namespace NeuralCore.Gpu.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void FillAndDownload()
    {
        var t = Tensor.Zeros([5], DType.Float32, Simulator.Device);
        Assert.Equal(new float[5], t.ToArray<float>());
    }

    [Fact]
    public void UploadAndDownload()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3 }, 3).To(Simulator.Device);
        Assert.Equal(new float[] { 1, 2, 3 }, t.ToArray<float>());
    }

    [Fact]
    public void Add()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3 }, 3).To(Simulator.Device);
        Assert.Equal(new float[] { 2, 4, 6 }, (t + t).ToArray<float>());
    }
}
