using NeuralCore.Compression;

namespace NeuralCore.Compression.Tests;

public unsafe class Int8GemmTests
{
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 },
        { 5, 17, 7 },
        { 6, 16, 4 },
        { 13, 33, 30 },
        { 97, 65, 129 },
        { 200, 130, 64 },
    };

    public static TheoryData<string> Paths => new() { "Auto", "Vector128", "Scalar" };

    static Int8KernelPath Parse(string path) => Enum.Parse<Int8KernelPath>(path);

    static (byte[] A, sbyte[] W, int Kp) Operands(int m, int n, int k, int seed)
    {
        var random = new Random(seed);
        int kp = Int8Gemm.PadK(k);
        var a = new byte[m * kp];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < kp; p++)
                a[i * kp + p] = p < k ? (byte)random.Next(256) : (byte)random.Next(256); // padding holds junk: it must not matter
        var w = new sbyte[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)random.Next(-127, 128);
        return (a, w, kp);
    }

    static long ReferenceSum(byte[] a, int kp, sbyte[] w, int k, int i, int j, int zeroPoint)
    {
        long sum = 0;
        for (int p = 0; p < k; p++) sum += (a[i * kp + p] - zeroPoint) * w[j * k + p];
        return sum;
    }

    static void Run(byte[] a, int kp, int m, PackedInt8Weights packed, int zeroPoint, Int8Epilogue epilogue, Int8OutputKind kind, Array c,
        long rowStride, long columnStride, Int8KernelPath path)
    {
        Int8Gemm.ForcedPath = path;
        try
        {
            fixed (byte* pa = a)
            {
                switch (c)
                {
                    case int[] ci:
                        fixed (int* pc = ci) Int8Gemm.Run(pa, kp, m, packed, zeroPoint, epilogue, kind, pc, rowStride, columnStride);
                        break;
                    case float[] cf:
                        fixed (float* pc = cf) Int8Gemm.Run(pa, kp, m, packed, zeroPoint, epilogue, kind, pc, rowStride, columnStride);
                        break;
                    case byte[] cb:
                        fixed (byte* pc = cb) Int8Gemm.Run(pa, kp, m, packed, zeroPoint, epilogue, kind, pc, rowStride, columnStride);
                        break;
                }
            }
        }
        finally
        {
            Int8Gemm.ForcedPath = Int8KernelPath.Auto;
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Int32AccumulatorsMatchTheScalarReferenceOnEveryPath(int m, int n, int k)
    {
        var (a, w, kp) = Operands(m, n, k, m * 1000 + n * 10 + k);
        var packed = PackedInt8Weights.Pack(w, n, k);
        foreach (var path in new[] { Int8KernelPath.Auto, Int8KernelPath.Vector128, Int8KernelPath.Scalar })
        {
            var c = new int[m * n];
            Run(a, kp, m, packed, 37, default, Int8OutputKind.Int32, c, n, 1, path);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    Assert.True(ReferenceSum(a, kp, w, k, i, j, 37) == c[i * n + j], $"{path}: C[{i}, {j}] = {c[i * n + j]}, expected {ReferenceSum(a, kp, w, k, i, j, 37)}");
        }
    }

    [Fact]
    public void ExtremeOperandsAccumulateWithoutOverflow()
    {
        // 255 · (−127) summed over K = 4096: −132,648,960, well inside int32; VPDPBUSD's non-saturating form is exact.
        int m = 7, n = 18, k = 4096, kp = Int8Gemm.PadK(k);
        var a = Enumerable.Repeat((byte)255, m * kp).ToArray();
        var w = Enumerable.Repeat((sbyte)-127, n * k).ToArray();
        var packed = PackedInt8Weights.Pack(w, n, k);
        foreach (var path in new[] { Int8KernelPath.Auto, Int8KernelPath.Vector128, Int8KernelPath.Scalar })
        {
            var c = new int[m * n];
            Run(a, kp, m, packed, 0, default, Int8OutputKind.Int32, c, n, 1, path);
            Assert.All(c, v => Assert.Equal(255 * -127 * k, v));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void FloatEpilogueMatchesTheScalarReferenceBitForBit(string pathName)
    {
        var path = Parse(pathName);
        int m = 31, n = 45, k = 70, zeroPoint = 120;
        var (a, w, kp) = Operands(m, n, k, 5);
        var packed = PackedInt8Weights.Pack(w, n, k);
        var random = new Random(9);
        var scale = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 1e-3 + 1e-5)).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        foreach (bool relu in new[] { false, true })
        {
            var epilogue = new Int8Epilogue { Scale = scale, Bias = bias, Relu = relu };
            var c = new float[m * n];
            Run(a, kp, m, packed, zeroPoint, epilogue, Int8OutputKind.Float, c, n, 1, path);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float y = (float)(int)ReferenceSum(a, kp, w, k, i, j, zeroPoint) * scale[j];
                    y += bias[j];
                    if (relu && y < 0) y = 0;
                    Assert.Equal(BitConverter.SingleToInt32Bits(y), BitConverter.SingleToInt32Bits(c[i * n + j]));
                }
            if (relu) Assert.Contains(c, v => v == 0);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void UInt8EpilogueRoundsHalfToEvenAndSaturates(string pathName)
    {
        var path = Parse(pathName);
        int m = 20, n = 40, k = 33, zeroPoint = 3, outZero = 100;
        var (a, w, kp) = Operands(m, n, k, 11);
        var packed = PackedInt8Weights.Pack(w, n, k);
        // Scales chosen so results span far beyond [0, 255] on both sides: saturation is exercised.
        var scale = Enumerable.Range(0, n).Select(j => 1e-3f * (1 + j % 7)).ToArray();
        float inverse = 1f / 0.05f;
        var epilogue = new Int8Epilogue { Scale = scale, OutputInverseScale = inverse, OutputZeroPoint = outZero };
        var c = new byte[m * n];
        Run(a, kp, m, packed, zeroPoint, epilogue, Int8OutputKind.UInt8, c, n, 1, path);
        int saturatedLow = 0, saturatedHigh = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float y = (float)(int)ReferenceSum(a, kp, w, k, i, j, zeroPoint) * scale[j];
                double q = Math.Round((double)(y * inverse), MidpointRounding.ToEven) + outZero;
                byte expected = (byte)Math.Clamp(q, 0, 255);
                if (q < 0) saturatedLow++;
                if (q > 255) saturatedHigh++;
                Assert.Equal(expected, c[i * n + j]);
            }
        Assert.True(saturatedLow > 0 && saturatedHigh > 0, $"the data must reach both saturation limits ({saturatedLow}, {saturatedHigh})");
    }

    [Fact]
    public void RoundingTiesGoToEven()
    {
        // 2.5 → 2, 3.5 → 4, −0.5 → −0 (then + zero point).
        Assert.Equal(12, Int8Requantize.ToUInt8(2.5f, 1f, 10));
        Assert.Equal(14, Int8Requantize.ToUInt8(3.5f, 1f, 10));
        Assert.Equal(10, Int8Requantize.ToUInt8(-0.5f, 1f, 10));
        Assert.Equal(0, Int8Requantize.ToUInt8(float.NaN, 1f, 10));
        Assert.Equal(255, Int8Requantize.ToUInt8(float.PositiveInfinity, 1f, 10));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void StridedOutputWritesTheTransposedLayout(string pathName)
    {
        var path = Parse(pathName);
        int m = 50, n = 20, k = 9;
        var (a, w, kp) = Operands(m, n, k, 21);
        var packed = PackedInt8Weights.Pack(w, n, k);
        var scale = Enumerable.Repeat(0.5f, n).ToArray();
        var c = new float[m * n];
        Run(a, kp, m, packed, 0, new Int8Epilogue { Scale = scale }, Int8OutputKind.Float, c, 1, m, path);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.Equal((float)ReferenceSum(a, kp, w, k, i, j, 0) * 0.5f, c[j * m + i]);
    }

    [Fact]
    public void ActivationQuantizationPathsAgreeWithTheReference()
    {
        var random = new Random(3);
        int rows = 9, cols = 37, ldq = Int8Gemm.PadK(cols);
        var x = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        x[5] = float.NaN;
        x[6] = 1e30f;
        x[7] = -1e30f;
        var p = QuantParams.FromRange(-2f, 3f);
        var vector = new byte[rows * ldq];
        var scalar = new byte[rows * ldq];
        Int8Requantize.QuantizeRows(x, rows, cols, 1f / p.Scale, p.ZeroPoint, vector, ldq, scalar: false);
        Int8Requantize.QuantizeRows(x, rows, cols, 1f / p.Scale, p.ZeroPoint, scalar, ldq, scalar: true);
        Assert.Equal(scalar, vector);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < ldq; j++)
            {
                byte expected = j >= cols ? (byte)p.ZeroPoint
                    : float.IsNaN(x[r * cols + j]) ? (byte)0
                    : (byte)Math.Clamp(Math.Round((double)(x[r * cols + j] * (1f / p.Scale)), MidpointRounding.ToEven) + p.ZeroPoint, 0, 255);
                Assert.Equal(expected, vector[r * ldq + j]);
            }
    }

    [Fact]
    public void PackingRejectsBadSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => PackedInt8Weights.Pack(new sbyte[5], 2, 3));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => PackedInt8Weights.Pack(new sbyte[0], 0, 3));
    }

    [Fact]
    public void ReportsWhetherTheVnniKernelIsUsed()
    {
        Assert.Equal(System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, Int8Gemm.HasVnni);
        Assert.Equal(Int8Gemm.HasVnni ? Int8KernelPath.Auto : Int8KernelPath.Vector128, Int8Gemm.ResolvePath());
    }
}
