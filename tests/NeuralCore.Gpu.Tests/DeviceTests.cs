namespace NeuralCore.Gpu.Tests;

public sealed class DeviceTests
{
    [Fact]
    public void MixedDevicesThrowAClearError()
    {
        var a = Tensor.Ones([3]).To(Simulator.Device);
        var b = Tensor.Ones([3]);
        var e = Assert.ThrowsAny<Exception>(() => a.Add(b));
        Assert.Contains("device", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TensorsMoveBothWays()
    {
        var t = Tensor.Arange(0, 12, 1, DType.Float64).Reshape(3, 4);
        var back = t.To(Simulator.Device).Transpose(0, 1).To(Device.Cpu);
        Assert.Equal(t.Transpose(0, 1).Contiguous().ToArray<double>(), back.ToArray<double>());
    }

    [Fact]
    public void OutOfRangeIndexIsReportedAtTheNextRead()
    {
        var x = Tensor.Ones([4, 3]).To(Simulator.Device);
        var index = Tensor.FromArray(new long[] { 1, 9 }, 2).To(Simulator.Device);
        var picked = x.IndexSelect(0, index);
        var e = Assert.Throws<IndexOutOfRangeException>(() => picked.ToArray<float>());
        Assert.Contains("IndexSelect", e.Message);
        Assert.Contains("9", e.Message);
        Assert.Equal(new float[] { 1, 1, 1 }, x[1].ToArray<float>());
    }

    [Theory]
    [InlineData(-1L, DType.Int64)]
    [InlineData(3L, DType.Int32)]
    public void CrossEntropyRejectsBadTargetsOnTheDevice_AsTheCpuDoes(long bad, DType targetType)
    {
        var logits = Tensor.Zeros([2, 3]).To(Simulator.Device).RequiresGrad_();
        var target = Tensor.FromArray(new long[] { 0, bad }, 2).To(targetType).To(Simulator.Device);
        long downloads = Simulator.Backend.Transfers.Downloads;
        var loss = Nn.Functional.CrossEntropy(logits, target);
        loss.Backward();
        Assert.Equal(downloads, Simulator.Backend.Transfers.Downloads);   // checked on the device, not read back

        var e = Assert.Throws<ArgumentException>(() => loss.Item<float>());
        Assert.Contains($"CrossEntropy: target {bad} is out of range for 3 classes", e.Message);
        var cpu = Assert.Throws<ArgumentException>(() => Nn.Functional.CrossEntropy(Tensor.Zeros([2, 3]), target.To(Device.Cpu)));
        Assert.Contains($"CrossEntropy: target {bad} is out of range for 3 classes", cpu.Message);
        // The error is reported once; later reads work.
        Assert.Equal(0f, logits.Sum().Item<float>());
    }

    [Fact]
    public void ComposedClassLossesRejectBadTargetsOnTheDevice_AsTheCpuDoes()
    {
        // Label smoothing and NllLoss take the composed path (no fused kernel): the device check has the CPU's message.
        var logits = Tensor.Zeros([3, 4]).To(Simulator.Device);
        var target = Tensor.FromArray(new long[] { 1, 9, -100 }, 3).To(Simulator.Device);
        var smoothed = Nn.Functional.CrossEntropy(logits, target, labelSmoothing: 0.1);
        var e = Assert.Throws<ArgumentException>(() => smoothed.Item<float>());
        Assert.Contains("CrossEntropy: target 9 is out of range for 4 classes", e.Message);

        var negative = Tensor.FromArray(new long[] { 1, -2, 0 }, 3).To(Simulator.Device);
        var nll = Nn.Functional.NllLoss(logits.LogSoftmax(1), negative);
        var n = Assert.Throws<ArgumentException>(() => nll.Item<float>());
        Assert.Contains("NllLoss: target -2 is out of range for 4 classes", n.Message);
        Assert.Equal(0f, logits.Sum().Item<float>());
    }

    [Fact]
    public void CrossEntropyIgnoresTheIgnoreIndexWithoutAnError()
    {
        var logits = Tensor.Zeros([2, 3]).To(Simulator.Device);
        var target = Tensor.FromArray(new long[] { 1, -100 }, 2).To(Simulator.Device);
        Assert.Equal(Math.Log(3), Nn.Functional.CrossEntropy(logits, target).Item<float>(), 5);
    }

    [Fact]
    public void RandomFillsAreDeterministicAndAdvanceTheGenerator()
    {
        var g1 = new Generator(5);
        var g2 = new Generator(5);
        var a = Tensor.Rand([10], DType.Float32, g1, Simulator.Device).ToArray<float>();
        var b = Tensor.Rand([10], DType.Float32, g2, Simulator.Device).ToArray<float>();
        var c = Tensor.Rand([10], DType.Float32, g1, Simulator.Device).ToArray<float>();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void BestNeverPicksTheSimulator()
    {
        _ = Simulator.Device;
        Assert.NotEqual(DeviceType.Simulator, Device.Best().Type);
    }

    [Fact]
    public void ProbeDescribesEveryDeviceIncludingUnusableOnes()
    {
        foreach (var info in Gpu.Devices())
            Assert.True(info.IsUsable || !string.IsNullOrEmpty(info.Reason), info.ToString());
    }
}
