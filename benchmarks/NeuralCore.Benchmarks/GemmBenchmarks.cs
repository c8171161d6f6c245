using BenchmarkDotNet.Attributes;
using NeuralCore;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Square float32 matrix products through the public Tensor API (2·N³ flops each), N = 64..1024, plus
/// <c>a.MatMul(b.T)</c> at N = 512 (a transposed, non-contiguous right operand as in a Linear layer's forward).
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    readonly Dictionary<int, (Tensor A, Tensor B)> operands = [];

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        foreach (int n in new[] { 64, 128, 256, 512, 1024 })
            operands[n] = (Tensor.Randn(n, n), Tensor.Randn(n, n));
    }

    [Benchmark]
    [Arguments(64)]
    [Arguments(128)]
    [Arguments(256)]
    [Arguments(512)]
    [Arguments(1024)]
    public Tensor MatMul(int N)
    {
        var (a, b) = operands[N];
        var c = a.MatMul(b);
        c.Dispose();
        return c;
    }

    /// <summary><c>a.MatMul(b.T)</c>: the transpose is a strided view, so the kernel sees a column-major operand.</summary>
    [Benchmark]
    [Arguments(512)]
    public Tensor MatMulTransposedB(int N)
    {
        var (a, b) = operands[N];
        var bt = b.T;
        var c = a.MatMul(bt);
        c.Dispose();
        bt.Dispose();
        return c;
    }
}
