using NeuralCore.Backends.Cpu;
using NeuralCore.Benchmarks.Comparison.NativeFix;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>What every comparison class does before it touches either library.</summary>
internal static class ComparisonSetup
{
    /// <summary>Threads for both libraries: libtorch's intra-op pool and NeuralCore's parallel loops.</summary>
    public const int Threads = 2;

    /// <summary>
    /// Makes TorchSharp's native library loadable (see <see cref="LibTorchSharpFix"/>). Called from each class's
    /// static constructor, so it runs in BenchmarkDotNet's child process before any TorchSharp code; prints what
    /// it found and did once per process.
    /// </summary>
    public static void FixNativeLibrary()
    {
        var report = LibTorchSharpFix.EnsureLoadable();
        if (Interlocked.Exchange(ref reported, 1) == 0)
            foreach (string line in report)
                Console.WriteLine($"[TorchSharp native fix] {line}");
    }

    static int reported;

    /// <summary>Seeds both libraries and gives each <see cref="Threads"/> threads.</summary>
    public static void Initialize(int seed = 1)
    {
        FixNativeLibrary();
        InitializeTorch(seed);
        Rng.ManualSeed(seed);
        CpuParallel.MaxDegreeOfParallelism = Threads;
    }

    // Kept out of Initialize so the JIT resolves TorchSharp's types only after the native fix has run.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void InitializeTorch(int seed)
    {
        TorchSharp.torch.set_num_threads(Threads);
        if (TorchSharp.torch.get_num_threads() != Threads)
            throw new InvalidOperationException($"libtorch runs {TorchSharp.torch.get_num_threads()} threads after set_num_threads({Threads}).");
        TorchSharp.torch.manual_seed(seed);
    }
}
