using System.Runtime.InteropServices;
using NeuralCore.Backends;
using NeuralCore.Backends.Cpu;
using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// Tensor-with-scalar arithmetic and comparisons through the CPU backend's by-value scalar path
/// (<see cref="IScalarBinary"/>) against the 0-d tensor path it replaces: same dtype, same shape, same bits,
/// for every dtype, scalars that do and do not promote, both operand orders, sizes below and above the
/// parallel threshold, and any thread count. Runs in the non-parallel "Memory" collection because it changes
/// the thread count.
/// </summary>
[Collection("Memory")]
public class ScalarOperandTests
{
    public static readonly DType[] DTypes = [DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.UInt8, DType.Bool];

    // Integral, fractional, negative (does not fit uint8), beyond int32, signed zero, NaN and infinity.
    public static readonly double[] Scalars = [2.0, 0.5, -1.0, 3.0, 300.0, 3e10, -0.0, 0.0, double.NaN, double.PositiveInfinity];

    public enum Form { Add, Sub, Mul, Div, ReverseSub, ReverseDiv, Eq, Ne, Lt, Le, Gt, Ge }

    /// <summary>The public API (which takes the scalar path where it applies).</summary>
    static Tensor Public(Tensor x, double s, Form form) => form switch
    {
        Form.Add => x + s,
        Form.Sub => x - s,
        Form.Mul => x * s,
        Form.Div => x / s,
        Form.ReverseSub => s - x,
        Form.ReverseDiv => s / x,
        Form.Eq => x.Eq(s),
        Form.Ne => x.Ne(s),
        Form.Lt => x.Lt(s),
        Form.Le => x.Le(s),
        Form.Gt => x.Gt(s),
        _ => x.Ge(s),
    };

    /// <summary>The 0-d tensor path: the scalar as a broadcast 0-d operand of the promoted dtype.</summary>
    static Tensor ZeroDim(Tensor x, double s, Form form) => form switch
    {
        Form.Add => x.Add(x.ScalarLike(s, BinaryOp.Add)),
        Form.Sub => x.Sub(x.ScalarLike(s, BinaryOp.Sub)),
        Form.Mul => x.Mul(x.ScalarLike(s, BinaryOp.Mul)),
        Form.Div => x.Div(x.ScalarLike(s, BinaryOp.Div)),
        Form.ReverseSub => x.ScalarLike(s, BinaryOp.Sub).Sub(x),
        Form.ReverseDiv => x.ScalarLike(s, BinaryOp.Div).Div(x),
        Form.Eq => x.Eq(x.ScalarLike(s, BinaryOp.Eq)),
        Form.Ne => x.Ne(x.ScalarLike(s, BinaryOp.Ne)),
        Form.Lt => x.Lt(x.ScalarLike(s, BinaryOp.Lt)),
        Form.Le => x.Le(x.ScalarLike(s, BinaryOp.Le)),
        Form.Gt => x.Gt(x.ScalarLike(s, BinaryOp.Gt)),
        _ => x.Ge(x.ScalarLike(s, BinaryOp.Ge)),
    };

    static byte[] Bits(Tensor t) => t.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(t.ToArray<float>().AsSpan()).ToArray(),
        DType.Float64 => MemoryMarshal.AsBytes(t.ToArray<double>().AsSpan()).ToArray(),
        DType.Int32 => MemoryMarshal.AsBytes(t.ToArray<int>().AsSpan()).ToArray(),
        DType.Int64 => MemoryMarshal.AsBytes(t.ToArray<long>().AsSpan()).ToArray(),
        _ => t.ToArray<byte>(),
    };

    /// <summary>Values -3 .. 9 repeated (so uint8 and Bool hold 0, 1 and larger values), in <paramref name="dtype"/>.</summary>
    static Tensor Input(DType dtype, int n)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = i % 13 - 3 + (dtype is DType.Float32 or DType.Float64 ? 0.25 * (i % 3) : 0);
        if (dtype is DType.UInt8 or DType.Bool) for (int i = 0; i < n; i++) v[i] = Math.Abs(v[i]);
        return Tensor.FromArray(v, n).To(dtype);
    }

    static void SameAsZeroDim(Tensor x, double s, Form form)
    {
        Tensor? expected = null;
        Exception? expectedError = null;
        try { expected = ZeroDim(x, s, form); }
        catch (Exception e) { expectedError = e; }
        if (expectedError is not null)
        {
            var actualError = Record.Exception(() => Public(x, s, form));
            Assert.NotNull(actualError);
            Assert.Equal(expectedError.GetType(), actualError.GetType());
            return;
        }
        var actual = Public(x, s, form);
        string what = $"{x.DType}{x.Shape} {form} {s}";
        Assert.True(expected!.DType == actual.DType, $"{what}: dtype {actual.DType}, expected {expected.DType}");
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(Bits(expected).AsSpan().SequenceEqual(Bits(actual)), $"{what}: values differ");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(70_001)]
    public void EveryDTypeScalarAndForm_MatchesZeroDimPath(int n)
    {
        foreach (var dtype in DTypes)
        {
            var x = Input(dtype, n);
            foreach (var s in Scalars)
                foreach (var form in Enum.GetValues<Form>())
                    SameAsZeroDim(x, s, form);
        }
    }

    [Fact]
    public void ZeroDimAndStridedTensors_MatchZeroDimPath()
    {
        foreach (var dtype in DTypes)
        {
            var zeroDim = Input(dtype, 5)[2];
            Assert.Equal(0, zeroDim.Dim);
            var strided = Input(dtype, 24).Reshape(4, 6).T;   // non-contiguous: the backend declines, 0-d path
            Assert.False(strided.IsContiguous);
            foreach (var s in Scalars)
                foreach (var form in Enum.GetValues<Form>())
                {
                    SameAsZeroDim(zeroDim, s, form);
                    SameAsZeroDim(strided, s, form);
                }
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(70_001)]
    public void InPlaceScalarOps_MatchZeroDimOperand(int n)
    {
        foreach (var dtype in DTypes)
            foreach (var s in Scalars)
                foreach (var op in new[] { "Add_", "Sub_", "Mul_", "Div_" })
                {
                    var viaScalar = Input(dtype, n);
                    var viaZeroDim = Input(dtype, n);
                    Exception? expectedError = Record.Exception(() =>
                    {
                        var z = Tensor.Scalar(s, dtype);
                        _ = op switch { "Add_" => viaZeroDim.Add_(z), "Sub_" => viaZeroDim.Sub_(z), "Mul_" => viaZeroDim.Mul_(z), _ => viaZeroDim.Div_(z) };
                    });
                    Exception? actualError = Record.Exception(() =>
                        _ = op switch { "Add_" => viaScalar.Add_(s), "Sub_" => viaScalar.Sub_(s), "Mul_" => viaScalar.Mul_(s), _ => viaScalar.Div_(s) });
                    string what = $"{dtype} {op}({s})";
                    Assert.True(expectedError?.GetType() == actualError?.GetType(), $"{what}: {actualError?.GetType().Name ?? "no error"}, expected {expectedError?.GetType().Name ?? "no error"}");
                    if (expectedError is null)
                        Assert.True(Bits(viaZeroDim).AsSpan().SequenceEqual(Bits(viaScalar)), $"{what}: values differ");
                }
    }

    [Theory]
    [InlineData(DType.Float32, 2.0, BinaryOp.Add, true)]
    [InlineData(DType.Float64, 0.5, BinaryOp.Mul, true)]
    [InlineData(DType.Int32, 3.0, BinaryOp.Sub, true)]
    [InlineData(DType.UInt8, 3.0, BinaryOp.Gt, true)]
    [InlineData(DType.Int64, -1.0, BinaryOp.Eq, true)]
    [InlineData(DType.Int32, 0.5, BinaryOp.Add, false)]    // fractional scalar: Float32 result
    [InlineData(DType.UInt8, -1.0, BinaryOp.Add, false)]   // does not fit uint8: promotion rules decide
    [InlineData(DType.Int32, 3e10, BinaryOp.Lt, false)]    // beyond int32: compared as int64
    [InlineData(DType.Int32, 2.0, BinaryOp.Div, false)]    // integer division gives Float32
    [InlineData(DType.Bool, 1.0, BinaryOp.Add, false)]     // Bool arithmetic widens to Int64
    public void ScalarPath_TakenOnlyWhereTheDTypeIsUnchanged(DType dtype, double s, BinaryOp op, bool taken)
    {
        var x = Input(dtype, 100);
        var r = x.TryScalarBinary(op, s, scalarFirst: false);
        Assert.Equal(taken, r is not null);
    }

    [Fact]
    public void ScalarPath_RecordsAGraph_AndDeclinesStridedViews()
    {
        var x = Tensor.Randn(10).RequiresGrad_();
        var y = x.TryScalarBinary(BinaryOp.Mul, 3.0, scalarFirst: false);
        Assert.NotNull(y);
        Assert.True(y!.RequiresGrad);
        Assert.Equal("MulBackward", y.GradFnName);
        using (Tensor.NoGrad()) Assert.False(x.TryScalarBinary(BinaryOp.Mul, 3.0, scalarFirst: false)!.RequiresGrad);
        var mask = x.TryScalarBinary(BinaryOp.Gt, 0.0, scalarFirst: false)!;
        Assert.Equal(DType.Bool, mask.DType);
        Assert.False(mask.RequiresGrad);
        Assert.Null(Tensor.Randn(4, 6).T.TryScalarBinary(BinaryOp.Add, 1.0, scalarFirst: false));
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void ScalarPathGradients_MatchZeroDimPath(DType dtype)
    {
        Form[] recorded = [Form.Add, Form.Sub, Form.Mul, Form.Div, Form.ReverseSub, Form.ReverseDiv];
        var data = Tensor.Randn([70_001], dtype, new Generator(11));
        var upstream = Tensor.Randn([70_001], dtype, new Generator(12));
        foreach (var s in new[] { 2.0, -0.3, 0.0 })
            foreach (var form in recorded)
            {
                var viaScalar = data.Detach().RequiresGrad_();
                var viaZeroDim = data.Detach().RequiresGrad_();
                var a = Public(viaScalar, s, form);
                var b = ZeroDim(viaZeroDim, s, form);
                Assert.Equal(b.GradFnName, a.GradFnName);
                Assert.True(Bits(b).AsSpan().SequenceEqual(Bits(a)), $"{dtype} {form} {s}: forward values differ");
                // A second op on top, so the incoming gradient is not all ones.
                (a * upstream).Sum().Backward();
                (b * upstream).Sum().Backward();
                Assert.True(Bits(viaZeroDim.Grad!).AsSpan().SequenceEqual(Bits(viaScalar.Grad!)), $"{dtype} {form} {s}: gradients differ");
            }
    }

    [Fact]
    public void LargeScalarOps_BitIdenticalForAnyThreadCount()
    {
        int saved = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            var x = Tensor.Randn([1_000_003], DType.Float32, new Generator(3));
            byte[]? reference = null;
            foreach (int threads in new[] { 1, 2, 3, 4 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                var parts = new[] { x + 2.5, x * 0.3, 1.0 / x, 7.0 - x, x.Gt(0.1).To(DType.Float32) };
                var bits = parts.SelectMany(Bits).ToArray();
                if (reference is null) reference = bits;
                else Assert.True(reference.AsSpan().SequenceEqual(bits), $"{threads} threads differ from 1 thread");
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = saved;
        }
    }
}
