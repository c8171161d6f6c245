using NeuralCore.Backends.Cpu;

namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// Tests <see cref="CpuGemm"/> against a naive triple loop accumulated in double precision.
/// </summary>
/// <remarks>
/// All tests live in one class (one xunit collection) because some of them change the process-wide
/// <see cref="CpuParallel.MaxDegreeOfParallelism"/>; that setting only changes scheduling, never results,
/// so GEMMs running concurrently in other test classes are unaffected.
/// </remarks>
public sealed unsafe class CpuGemmTests
{
    private static readonly int[] SmallSizes = [0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 100];

    public static TheoryData<bool, bool> TransposeCombos => new()
    {
        { false, false },
        { true, false },
        { false, true },
        { true, true },
    };

    public static TheoryData<bool, bool, int> TransposeCombosWithVectorBits
    {
        get
        {
            var data = new TheoryData<bool, bool, int>();
            foreach (int bits in new[] { 0, 256, 128 })
            {
                data.Add(false, false, bits);
                data.Add(true, false, bits);
                data.Add(false, true, bits);
                data.Add(true, true, bits);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Sgemm_AllSmallShapes_MatchReference(bool transA, bool transB)
    {
        var rng = new Random(12345);
        foreach (int m in SmallSizes)
        {
            foreach (int n in SmallSizes)
            {
                foreach (int k in SmallSizes)
                {
                    var p = Problem.Create(rng, transA, transB, m, n, k, padding: 0, alpha: 1f, beta: 0f, nanC: false);
                    p.RunSingleAndCheck();
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombosWithVectorBits))]
    public void Sgemm_PaddedLeadingDimensionsAndAlphaBeta_MatchReference(bool transA, bool transB, int vectorBits)
    {
        var rng = new Random(777);
        int[] sizes = [1, 3, 16, 17, 33, 65];
        (float Alpha, float Beta)[] scalars = [(1f, 0f), (1f, 1f), (0.75f, -1.5f), (-2f, 0.5f), (0f, 0.25f)];
        int previous = CpuGemm.MaxVectorBits;
        try
        {
            CpuGemm.MaxVectorBits = vectorBits;
            foreach (int m in sizes)
            {
                foreach (int n in sizes)
                {
                    foreach (int k in sizes)
                    {
                        var (alpha, beta) = scalars[(m + n + k) % scalars.Length];
                        var p = Problem.Create(rng, transA, transB, m, n, k, padding: 5, alpha, beta, nanC: false);
                        p.RunSingleAndCheck();
                    }
                }
            }

            // One multi-block case per kernel width (several k blocks, edge tiles in both directions).
            Problem.Create(rng, transA, transB, 131, 77, 600, padding: 3, alpha: 0.5f, beta: 2f, nanC: false).RunSingleAndCheck();
        }
        finally
        {
            CpuGemm.MaxVectorBits = previous;
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Sgemm_BetaZero_DoesNotReadNaNInC(bool transA, bool transB)
    {
        var rng = new Random(99);
        foreach (int m in new[] { 1, 5, 13, 40 })
        {
            foreach (int n in new[] { 1, 9, 32, 47 })
            {
                foreach (int k in new[] { 0, 1, 8, 300 })
                {
                    var p = Problem.Create(rng, transA, transB, m, n, k, padding: 2, alpha: 1.25f, beta: 0f, nanC: true);
                    p.RunSingleAndCheck();
                }
            }
        }
    }

    [Fact]
    public void Sgemm_KZero_ScalesC()
    {
        var rng = new Random(5);
        var p = Problem.Create(rng, false, false, 7, 9, 0, padding: 1, alpha: 3f, beta: -0.5f, nanC: false);
        p.RunSingleAndCheck();
        var q = Problem.Create(rng, true, true, 7, 9, 0, padding: 1, alpha: 3f, beta: 1f, nanC: false);
        q.RunSingleAndCheck();
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Sgemm_LargeShape_MatchesReference(bool transA, bool transB)
    {
        var rng = new Random(2024);
        var p = Problem.Create(rng, transA, transB, 257, 513, 300, padding: 3, alpha: 1f, beta: 0.5f, nanC: false);
        p.RunSingleAndCheck();
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Dgemm_Shapes_MatchReference(bool transA, bool transB)
    {
        var rng = new Random(31337);
        int[] sizes = [0, 1, 2, 7, 16, 17, 33, 65];
        (double Alpha, double Beta)[] scalars = [(1, 0), (1, 1), (0.75, -1.5), (-2, 0.5)];
        foreach (int m in sizes)
        {
            foreach (int n in sizes)
            {
                foreach (int k in sizes)
                {
                    var (alpha, beta) = scalars[(m + (2 * n) + k) % scalars.Length];
                    DoubleProblem.Create(rng, transA, transB, m, n, k, padding: (m + n) % 3, alpha, beta, nanC: beta == 0).RunAndCheck();
                }
            }
        }

        DoubleProblem.Create(rng, transA, transB, 131, 259, 300, padding: 2, alpha: 1.5, beta: 0, nanC: true).RunAndCheck();
    }

    [Fact]
    public void Dgemm_FallbackKernels_MatchReference()
    {
        var rng = new Random(8);
        int previous = CpuGemm.MaxVectorBits;
        try
        {
            foreach (int bits in new[] { 256, 128 })
            {
                CpuGemm.MaxVectorBits = bits;
                DoubleProblem.Create(rng, false, true, 37, 29, 270, padding: 1, alpha: 2, beta: -1, nanC: false).RunAndCheck();
                DoubleProblem.Create(rng, true, false, 5, 70, 3, padding: 0, alpha: 1, beta: 0, nanC: true).RunAndCheck();
            }
        }
        finally
        {
            CpuGemm.MaxVectorBits = previous;
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Sgemm_ResultsAreBitIdenticalForAnyThreadCount(bool transA, bool transB)
    {
        var rng = new Random(4242);
        // Several k blocks, several row blocks and column chunks, ragged edges.
        var shapes = new (int M, int N, int K)[] { (300, 700, 520), (1000, 40, 300), (9, 1500, 257), (129, 131, 1) };
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            foreach (var (m, n, k) in shapes)
            {
                var p = Problem.Create(rng, transA, transB, m, n, k, padding: 1, alpha: 0.9f, beta: 0.3f, nanC: false);
                float[]? expected = null;
                foreach (int threads in new[] { 1, 2, 4, 3 })
                {
                    CpuParallel.MaxDegreeOfParallelism = threads;
                    float[] c = p.Run();
                    if (expected is null)
                    {
                        expected = c;
                        p.Check(c);
                    }
                    else
                    {
                        AssertBitIdentical(expected, c, threads);
                    }
                }
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void Dgemm_ResultsAreBitIdenticalForAnyThreadCount()
    {
        var rng = new Random(17);
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            var p = DoubleProblem.Create(rng, true, false, 250, 333, 600, padding: 2, alpha: 1.1, beta: 0, nanC: true);
            double[]? expected = null;
            foreach (int threads in new[] { 1, 2, 4 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                double[] c = p.Run();
                if (expected is null)
                {
                    expected = c;
                    p.Check(c);
                }
                else
                {
                    for (int i = 0; i < c.Length; i++)
                    {
                        Assert.True(
                            BitConverter.DoubleToInt64Bits(expected[i]) == BitConverter.DoubleToInt64Bits(c[i]),
                            $"threads={threads}: element {i} differs ({expected[i]:R} vs {c[i]:R})");
                    }
                }
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void CpuParallel_For_VisitsEveryIndexOnce()
    {
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2, 4 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                var hits = new int[1000];
                CpuParallel.For(hits.Length, 1_000_000, i => Interlocked.Increment(ref hits[i]));
                Assert.All(hits, h => Assert.Equal(1, h));

                var rangeHits = new int[1000];
                CpuParallel.ForRange(rangeHits.Length, 1_000_000, rangeHits, static (start, end, h) =>
                {
                    for (int i = start; i < end; i++)
                    {
                        Interlocked.Increment(ref h[i]);
                    }
                });
                Assert.All(rangeHits, h => Assert.Equal(1, h));
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void CpuParallel_For_PropagatesExceptions()
    {
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            CpuParallel.MaxDegreeOfParallelism = 2;
            Assert.Throws<InvalidOperationException>(() => CpuParallel.For(64, 1_000_000, i =>
            {
                if (i == 37)
                {
                    throw new InvalidOperationException("boom");
                }
            }));

            // The pool is still usable afterwards.
            int sum = 0;
            CpuParallel.For(10, 1_000_000, i => Interlocked.Add(ref sum, i));
            Assert.Equal(45, sum);
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    /// <summary>
    /// Products with one to four rows (the unpacked small-M path) give each row exactly what the blocked path gives
    /// the same row of a 16-row product: a batch-1 forward pass equals its row of a batched one, bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Sgemm_FewRows_AreBitIdenticalToTheSameRowsOfATallerProduct(bool transA, bool transB)
    {
        var rng = new Random(777);
        const int Tall = 16;
        foreach (int n in new[] { 1, 7, 8, 9, 37, 64, 130 })
        {
            // One k block, a ragged one, several (balanced 300 + 300), and k below the 8-wide transposes.
            foreach (int k in new[] { 1, 5, 8, 13, 257, 600 })
            {
                foreach (var (alpha, beta) in new[] { (1f, 0f), (0.75f, 0.5f), (-1.5f, 1f) })
                {
                    var tall = Problem.Create(rng, transA, transB, Tall, n, k, padding: 3, alpha, beta, nanC: false);
                    float[] expected = tall.Run();
                    for (int m = 1; m <= 4; m++)
                    {
                        float[] c = tall.RunRows(m);
                        for (int idx = 0; idx < c.Length; idx++)
                        {
                            // Rows below m keep C's initial values; the first m rows equal the tall product's.
                            float want = idx < m * tall.Ldc ? expected[idx] : tall.InitialC[idx];
                            if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(c[idx]))
                                Assert.Fail($"m={m} n={n} k={k} alpha={alpha} beta={beta}: element {idx} is {c[idx]:R}, the {Tall}-row product gives {want:R}");
                        }

                        if (m == 4) tall.CheckRows(c, m);
                    }
                }
            }
        }
    }

    /// <summary>A single-row product large enough to be spread over threads gives the same bits with any thread count.</summary>
    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void Sgemm_OneRowSpreadOverThreads_IsBitIdenticalForAnyThreadCount(bool transA, bool transB)
    {
        var rng = new Random(99);
        var p = Problem.Create(rng, transA, transB, 16, 1500, 700, padding: 1, alpha: 1f, beta: 0f, nanC: false);
        float[] tall = p.Run();
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                float[] c = p.RunRows(1);
                AssertBitIdentical(tall.AsSpan(0, p.Ldc).ToArray(), c.AsSpan(0, p.Ldc).ToArray(), threads);
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    private static void AssertBitIdentical(float[] expected, float[] actual, int threads)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"threads={threads}: element {i} differs ({expected[i]:R} vs {actual[i]:R})");
            }
        }
    }

    /// <summary>A float GEMM problem: padded operands, initial C, and the double-precision reference.</summary>
    private sealed class Problem
    {
        private bool _transA;
        private bool _transB;
        private int _m;
        private int _n;
        private int _k;
        private int _lda;
        private int _ldb;
        private int _ldc;
        private float _alpha;
        private float _beta;
        private float[] _a = [];
        private float[] _b = [];
        private float[] _c0 = [];

        public static Problem Create(Random rng, bool transA, bool transB, int m, int n, int k, int padding, float alpha, float beta, bool nanC)
        {
            var p = new Problem
            {
                _transA = transA,
                _transB = transB,
                _m = m,
                _n = n,
                _k = k,
                _lda = (transA ? m : k) + padding,
                _ldb = (transB ? k : n) + padding,
                _ldc = n + padding,
                _alpha = alpha,
                _beta = beta,
            };
            p._a = RandomArray(rng, (transA ? k : m) * p._lda);
            p._b = RandomArray(rng, (transB ? n : k) * p._ldb);
            p._c0 = RandomArray(rng, m * p._ldc);
            if (nanC)
            {
                Array.Fill(p._c0, float.NaN);
            }

            return p;
        }

        public void RunSingleAndCheck() => Check(Run());

        public int Ldc => _ldc;

        public float[] InitialC => _c0;

        /// <summary>The product of the first <paramref name="rows"/> rows of op(A) only, into a copy of the whole initial C.</summary>
        public float[] RunRows(int rows)
        {
            var c = (float[])_c0.Clone();
            fixed (float* pa = _a, pb = _b, pc = c)
            {
                CpuGemm.Sgemm(_transA, _transB, rows, _n, _k, _alpha, pa, _lda, pb, _ldb, _beta, pc, _ldc);
            }

            return c;
        }

        /// <summary><see cref="Check"/> for a result where only the first <paramref name="rows"/> rows were computed.</summary>
        public void CheckRows(float[] c, int rows)
        {
            int m = _m;
            _m = rows;
            try
            {
                Check(c);
            }
            finally
            {
                _m = m;
            }
        }

        public float[] Run()
        {
            var c = (float[])_c0.Clone();
            // Keep ld >= 1 legal for empty operands and give fixed a non-null address.
            var a = _a.Length == 0 ? new float[1] : _a;
            var b = _b.Length == 0 ? new float[1] : _b;
            var cc = c.Length == 0 ? new float[1] : c;
            fixed (float* pa = a, pb = b, pc = cc)
            {
                CpuGemm.Sgemm(_transA, _transB, _m, _n, _k, _alpha, pa, Math.Max(_lda, 1), pb, Math.Max(_ldb, 1), _beta, pc, Math.Max(_ldc, 1));
            }

            return c;
        }

        public void Check(float[] c)
        {
            for (int i = 0; i < _m; i++)
            {
                for (int j = 0; j < _ldc; j++)
                {
                    int idx = (i * _ldc) + j;
                    if (j >= _n)
                    {
                        // Padding between rows of C must be left untouched.
                        Assert.Equal(BitConverter.SingleToInt32Bits(_c0[idx]), BitConverter.SingleToInt32Bits(c[idx]));
                        continue;
                    }

                    double sum = 0;
                    double magnitude = 0;
                    for (int p = 0; p < _k; p++)
                    {
                        double x = _transA ? _a[(p * _lda) + i] : _a[(i * _lda) + p];
                        double y = _transB ? _b[(j * _ldb) + p] : _b[(p * _ldb) + j];
                        sum += x * y;
                        magnitude += Math.Abs(x * y);
                    }

                    double cOld = _beta == 0 ? 0 : _c0[idx];
                    double expected = (_alpha * sum) + (_beta * cOld);
                    double tolerance = (1e-6 * (_k + 2) * ((Math.Abs(_alpha) * magnitude) + Math.Abs(_beta * cOld))) + 1e-30;
                    double error = Math.Abs(c[idx] - expected);
                    if (!(error <= tolerance))
                    {
                        Assert.Fail(
                            $"Sgemm transA={_transA} transB={_transB} m={_m} n={_n} k={_k} alpha={_alpha} beta={_beta}: " +
                            $"C[{i},{j}] = {c[idx]:R}, expected {expected:R} (tolerance {tolerance:E2})");
                    }
                }
            }
        }

        private static float[] RandomArray(Random rng, int length)
        {
            var data = new float[length];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            return data;
        }
    }

    /// <summary>A double GEMM problem checked against a double reference with a tight tolerance.</summary>
    private sealed class DoubleProblem
    {
        private bool _transA;
        private bool _transB;
        private int _m;
        private int _n;
        private int _k;
        private int _lda;
        private int _ldb;
        private int _ldc;
        private double _alpha;
        private double _beta;
        private double[] _a = [];
        private double[] _b = [];
        private double[] _c0 = [];

        public static DoubleProblem Create(Random rng, bool transA, bool transB, int m, int n, int k, int padding, double alpha, double beta, bool nanC)
        {
            var p = new DoubleProblem
            {
                _transA = transA,
                _transB = transB,
                _m = m,
                _n = n,
                _k = k,
                _lda = (transA ? m : k) + padding,
                _ldb = (transB ? k : n) + padding,
                _ldc = n + padding,
                _alpha = alpha,
                _beta = beta,
            };
            p._a = RandomArray(rng, (transA ? k : m) * p._lda);
            p._b = RandomArray(rng, (transB ? n : k) * p._ldb);
            p._c0 = RandomArray(rng, m * p._ldc);
            if (nanC)
            {
                Array.Fill(p._c0, double.NaN);
            }

            return p;
        }

        public void RunAndCheck() => Check(Run());

        public double[] Run()
        {
            var c = (double[])_c0.Clone();
            var a = _a.Length == 0 ? new double[1] : _a;
            var b = _b.Length == 0 ? new double[1] : _b;
            var cc = c.Length == 0 ? new double[1] : c;
            fixed (double* pa = a, pb = b, pc = cc)
            {
                CpuGemm.Dgemm(_transA, _transB, _m, _n, _k, _alpha, pa, Math.Max(_lda, 1), pb, Math.Max(_ldb, 1), _beta, pc, Math.Max(_ldc, 1));
            }

            return c;
        }

        public void Check(double[] c)
        {
            for (int i = 0; i < _m; i++)
            {
                for (int j = 0; j < _ldc; j++)
                {
                    int idx = (i * _ldc) + j;
                    if (j >= _n)
                    {
                        Assert.Equal(BitConverter.DoubleToInt64Bits(_c0[idx]), BitConverter.DoubleToInt64Bits(c[idx]));
                        continue;
                    }

                    double sum = 0;
                    double magnitude = 0;
                    for (int p = 0; p < _k; p++)
                    {
                        double x = _transA ? _a[(p * _lda) + i] : _a[(i * _lda) + p];
                        double y = _transB ? _b[(j * _ldb) + p] : _b[(p * _ldb) + j];
                        sum += x * y;
                        magnitude += Math.Abs(x * y);
                    }

                    double cOld = _beta == 0 ? 0 : _c0[idx];
                    double expected = (_alpha * sum) + (_beta * cOld);
                    double tolerance = (4e-16 * (_k + 2) * ((Math.Abs(_alpha) * magnitude) + Math.Abs(_beta * cOld))) + 1e-300;
                    double error = Math.Abs(c[idx] - expected);
                    if (!(error <= tolerance))
                    {
                        Assert.Fail(
                            $"Dgemm transA={_transA} transB={_transB} m={_m} n={_n} k={_k} alpha={_alpha} beta={_beta}: " +
                            $"C[{i},{j}] = {c[idx]:R}, expected {expected:R} (tolerance {tolerance:E2})");
                    }
                }
            }
        }

        private static double[] RandomArray(Random rng, int length)
        {
            var data = new double[length];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (rng.NextDouble() * 2) - 1;
            }

            return data;
        }
    }
}
