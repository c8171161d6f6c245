using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Gpu.Tests;

/// <summary>Input checks that run on the device: no read when they pass, an ArgumentException at the next read when they fail, as on the CPU.</summary>
public sealed class DeviceAssertionTests
{
    [Theory]
    [InlineData(new[] { 0.5f, 1.5f, 0.25f })]
    [InlineData(new[] { -0.5f, 0.5f, 0.25f })]
    [InlineData(new[] { 0.5f, float.NaN, 0.25f })]
    public void BinaryCrossEntropyRejectsTheSameInputsWithTheSameMessageAsTheCpu(float[] values)
    {
        var target = Tensor.Zeros([3]);
        var cpu = Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropy(Tensor.FromArray(values, 3), target));
        var before = Simulator.Backend.Transfers.Downloads;
        var loss = F.BinaryCrossEntropy(Tensor.FromArray(values, 3).To(Simulator.Device), target.To(Simulator.Device));
        Assert.Equal(before, Simulator.Backend.Transfers.Downloads);
        var device = Assert.Throws<ArgumentException>(() => loss.Item<float>());
        Assert.Equal(cpu.Message, device.Message);
        Assert.Contains("[0, 1]", device.Message);
        // The failure is raised once; the device is usable afterwards.
        Assert.Equal(2f, (Tensor.Ones([2]).To(Simulator.Device).Sum()).Item<float>());
    }

    [Fact]
    public void BinaryCrossEntropyOfValidProbabilitiesMatchesTheCpuWithoutAnyRead()
    {
        var p = Tensor.FromArray(new double[] { 0, 0.2, 0.7, 1 }, 4);
        var t = Tensor.FromArray(new double[] { 0, 1, 1, 0 }, 4);
        var before = Simulator.Backend.Transfers.Downloads;
        var loss = F.BinaryCrossEntropy(p.To(Simulator.Device), t.To(Simulator.Device));
        Assert.Equal(before, Simulator.Backend.Transfers.Downloads);
        Simulator.Close(F.BinaryCrossEntropy(p, t), loss, 1e-12);
    }

    [Fact]
    public void TheFirstFailureSinceTheLastReadWins()
    {
        var bad = Tensor.FromArray(new float[] { 2 }, 1).To(Simulator.Device);
        var worse = Tensor.FromArray(new float[] { -3 }, 1).To(Simulator.Device);
        F.BinaryCrossEntropy(bad, Tensor.Zeros([1]).To(Simulator.Device));
        var loss = F.BinaryCrossEntropy(worse, Tensor.Zeros([1]).To(Simulator.Device));
        var e = Assert.Throws<ArgumentException>(() => loss.Item<float>());
        Assert.Contains("[2, 2]", e.Message);
    }
}
