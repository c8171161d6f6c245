using System.Text;
using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Tensors;

/// <summary>
/// Requests over <see cref="TensorLimits"/> are rejected with a clear exception before anything is allocated:
/// each case here once crashed the process, produced a tensor with more than 2^31 elements or threw
/// <see cref="OutOfMemoryException"/>.
/// </summary>
public class SizeLimitTests
{
    const string Limit = "2147483647";

    // Runs the call and returns its exception, asserting it is exactly T and that the CPU pool did not take the
    // memory the request asked for (tests run in parallel, so only a large growth would count).
    static T Rejects<T>(Func<object?> call, params string[] mentions) where T : Exception
    {
        long before = MemoryStats.Cpu.AllocatedBytes;
        var e = Assert.Throws<T>(() => call());
        long grown = MemoryStats.Cpu.AllocatedBytes - before;
        Assert.True(grown < 256L << 20, $"the rejected request allocated {grown} bytes first");
        foreach (var m in mentions) Assert.True(e.Message.Contains(m, StringComparison.Ordinal), $"'{m}' is missing from: {e.Message}");
        return e;
    }

    [Fact]
    public void Limits_AreDocumentedValues()
    {
        Assert.Equal(int.MaxValue, TensorLimits.MaxElements);
        Assert.Equal(1L << 30, TensorLimits.CpuMaxBytes);
        Assert.Equal(TensorLimits.CpuMaxBytes, TensorLimits.MaxBytes(Device.Cpu));
        Assert.Equal((1L << 30) / 4, TensorLimits.MaxElementsOf(DType.Float32, Device.Cpu));
        Assert.Equal(1L << 30, TensorLimits.MaxElementsOf(DType.UInt8, Device.Cpu));
    }

    [Fact]
    public void MatMul_OuterProductOver2Pow31Elements_Throws()
    {
        var a = Tensor.Randn(65537, 1);
        var b = Tensor.Randn(1, 65537);
        Rejects<ArgumentException>(() => a.MatMul(b), "MatMul", "[65537, 65537]", Limit, "[65537, 1] x [1, 65537]");
    }

    [Fact]
    public void MatMul_WithinElementLimitButOverCpuBytes_ThrowsArgumentNotOutOfMemory()
    {
        // 32768 x 32768 float32 = 4 GiB: a valid shape the CPU cannot hold in one allocation.
        var a = Tensor.Zeros(32768, 1);
        var b = Tensor.Zeros(1, 32768);
        Rejects<ArgumentException>(() => a.MatMul(b), "MatMul", "[32768, 32768]", "1073741824");
    }

    [Fact]
    public void Conv2d_HugePadding_Throws()
    {
        var conv = new Conv2d(1, 2, 3, padding: 46341);
        Rejects<ArgumentException>(() => conv.Forward(Tensor.Randn(1, 1, 8, 8)), "Conv2d", Limit, "padding (46341, 46341)");
    }

    [Fact]
    public void Conv2d_MaximalParameters_ComputeIn64Bits()
    {
        // 2 · padding overflows 32 bits; the output size is computed in 64 bits and rejected.
        Rejects<ArgumentException>(() => F.Conv2d(Tensor.Randn(1, 1, 4, 4), Tensor.Randn(1, 1, 1, 1), null, 1, int.MaxValue), "Conv2d", Limit);
        // Huge stride and dilation on a kernel that fits: a 1 x 1 output.
        var y = F.Conv2d(Tensor.Randn(1, 1, 4, 4), Tensor.Randn(1, 1, 1, 1), null, int.MaxValue, 0, int.MaxValue);
        Assert.Equal(new Shape(1, 1, 1, 1), y.Shape);
    }

    [Fact]
    public void Conv2d_Im2ColWorkspaceOverCpuLimit_ThrowsArgumentException()
    {
        // The output [1, 1, 257, 257] is small, but its im2col columns (4096 taps x 66049 positions, 1.08 GB) do not fit.
        var x = Tensor.Zeros(1, 1, 320, 320);
        var w = Tensor.Zeros(1, 1, 64, 64);
        Rejects<ArgumentException>(() => F.Conv2d(x, w), "Conv2d", "im2col", "[4096, 66049]", "1073741824");
    }

    [Fact]
    public void AdaptiveAvgPool2d_HugeOutput_Throws()
    {
        Rejects<ArgumentException>(() => F.AdaptiveAvgPool2d(Tensor.Randn(2, 2, 4, 4), 46341), "AdaptiveAvgPool2d", "(46341, 46341)", Limit);
        Rejects<ArgumentException>(() => new AdaptiveAvgPool2d(46341).Forward(Tensor.Randn(2, 2, 4, 4)), "AdaptiveAvgPool2d", Limit);
    }

    [Fact]
    public void Sum_OverZeroSizedDimension_CannotProduceOver2Pow31Elements()
    {
        var empty = Tensor.Zeros(0, 65536, 65536);
        Assert.Equal(0, empty.NumElements);
        Rejects<ArgumentException>(() => empty.Sum(0), "Sum", "[65536, 65536]", Limit, "[0, 65536, 65536]");
        Rejects<ArgumentException>(() => empty.Mean(0), "Mean", "[65536, 65536]", Limit);
        Rejects<ArgumentException>(() => empty.Sum([0], keepDim: true), "Sum", "[1, 65536, 65536]", Limit);
        // Reductions that keep the zero are fine.
        Assert.Equal(new Shape(0, 65536), empty.Sum(2).Shape);
    }

    [Fact]
    public void Broadcast_Over2Pow31Elements_Throws()
    {
        var a = Tensor.Zeros(65536, 1);
        var b = Tensor.Zeros(1, 65536);
        Rejects<ArgumentException>(() => a + b, "Add", "[65536, 65536]", Limit, "[65536, 1] and [1, 65536]");
        Rejects<ArgumentException>(() => a * b, "Mul", Limit);
        Rejects<ArgumentException>(() => a.Gt(b), Limit);
        Rejects<ArgumentException>(() => Tensor.Where(Tensor.Zeros([65536, 1], DType.Bool), a, b), "Where", Limit);
    }

    [Fact]
    public void Expand_And_Views_Over2Pow31Elements_Throw()
    {
        var one = Tensor.Zeros(1, 1);
        Rejects<ArgumentException>(() => one.Expand(65536, 65536), "Expand", Limit);
        Rejects<ArgumentException>(() => one.Expand(3L << 31, 1), "Expand", Limit);
        Rejects<ArgumentException>(() => Tensor.Zeros(1).Expand(65536, 65536, 1), "Expand", Limit);
        Rejects<ArgumentException>(() => Tensor.Zeros(0, 65536, 65536).Reshape(65536, 65536), "Reshape");
        Rejects<ArgumentException>(() => Tensor.Zeros(0, 65536, 65536).Flatten(1), "Reshape", Limit);
    }

    [Fact]
    public void Cat_And_Stack_Over2Pow31Elements_Throw()
    {
        var big = Tensor.Zeros(1, 1).Expand(1, 1 << 30);
        Assert.Equal(1L << 30, big.NumElements);
        Rejects<ArgumentException>(() => Tensor.Cat([big, big]), "Cat", "[2, 1073741824]", Limit);
        Rejects<ArgumentException>(() => Tensor.Stack([big, big]), "Stack", Limit);
    }

    [Fact]
    public void Creation_OverCpuBytes_ThrowsArgumentNotOutOfMemory()
    {
        Rejects<ArgumentException>(() => Tensor.Zeros(1L << 29), "Zeros", "1073741824");
        Rejects<ArgumentException>(() => Tensor.Zeros([1L << 28], DType.Float64), "Zeros");
        Rejects<ArgumentException>(() => Tensor.Zeros(1L << 31), "Zeros", Limit);
    }

    [Fact]
    public void Layers_RejectParametersOverTheLimits()
    {
        Rejects<ArgumentException>(() => new Linear(65536, 65536), "Linear", "weight");
        Rejects<ArgumentException>(() => new Conv2d(65536, 65536, 3), "Conv2d", "weight");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(-1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5));
        Assert.ThrowsAny<ArgumentException>(() => new MaxPool2d(0));
        Assert.ThrowsAny<ArgumentException>(() => new AvgPool2d(3, padding: 2));
        Assert.ThrowsAny<ArgumentException>(() => new AdaptiveAvgPool2d(0));
        Assert.ThrowsAny<ArgumentException>(() => new Conv2d(1, 1, 3, stride: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(0));
    }

    [Fact]
    public void SafeTensors_WidenedFloat16OverCpuLimit_ThrowsInvalidDataNamingTheTensor()
    {
        // A valid file: 300M float16 values (600 MB) that would load as 1.2 GB of float32. The data is never read,
        // so the stream only pretends to hold it.
        const long Count = 300_000_000;
        string header = $"{{\"layer.weight\":{{\"dtype\":\"F16\",\"shape\":[{Count}],\"data_offsets\":[0,{Count * 2}]}}}}";
        using var stream = new PretendStream(header, Count * 2);
        var e = Rejects<InvalidDataException>(() => NeuralCore.Serialization.SafeTensors.Read(stream),
            "layer.weight", "[300000000]", "F16", "1073741824");
        Assert.Equal(8 + Encoding.UTF8.GetByteCount(header), stream.Position);
    }

    // A seekable stream of a safetensors length prefix and header followed by dataLength zero bytes it never stores.
    sealed class PretendStream(string header, long dataLength) : Stream
    {
        readonly byte[] head = BuildHead(header);

        static byte[] BuildHead(string header)
        {
            var json = Encoding.UTF8.GetBytes(header);
            var head = new byte[8 + json.Length];
            BitConverter.TryWriteBytes(head.AsSpan(0, 8), (ulong)json.Length);
            json.CopyTo(head, 8);
            return head;
        }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => head.Length + dataLength;
        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, Length - Position);
            for (int i = 0; i < n; i++)
            {
                long at = Position + i;
                buffer[offset + i] = at < head.Length ? head[at] : (byte)0;
            }
            Position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => Length + offset,
        };

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
