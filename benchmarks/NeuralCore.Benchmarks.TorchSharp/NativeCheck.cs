using static TorchSharp.torch;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>
/// <c>--check</c>: loads TorchSharp after the native fix and compares one matrix product with NeuralCore's, so a
/// broken setup shows up in seconds instead of in a benchmark run's log.
/// </summary>
internal static class NativeCheck
{
    public static int Run()
    {
        ComparisonSetup.Initialize();
        return Compare();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static int Compare()
    {
        const int n = 64;
        var rng = new Random(1);
        float[] a = new float[n * n], b = new float[n * n];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() - 0.5); b[i] = (float)(rng.NextDouble() - 0.5); }

        using var ta = tensor(a, [n, n]);
        using var tb = tensor(b, [n, n]);
        using var tc = mm(ta, tb);
        float[] expected = tc.data<float>().ToArray();

        using var na = Tensor.FromArray(a, n, n);
        using var nb = Tensor.FromArray(b, n, n);
        using var nc = na.MatMul(nb);
        float[] actual = nc.ToArray<float>();

        // Both against a float64 product computed here.
        double torchError = 0, neuralCoreError = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double r = 0;
                for (int k = 0; k < n; k++) r += (double)a[i * n + k] * b[k * n + j];
                torchError = Math.Max(torchError, Math.Abs(expected[i * n + j] - r));
                neuralCoreError = Math.Max(neuralCoreError, Math.Abs(actual[i * n + j] - r));
            }
        Console.WriteLine($"[check] libtorch {__version__}, {get_num_threads()} threads; {n}x{n} matmul, largest error against a float64 " +
                          $"product: libtorch {torchError:E2}, NeuralCore {neuralCoreError:E2}");
        bool ok = torchError < 1e-4 && neuralCoreError < 1e-4;
        Console.WriteLine(ok ? "[check] OK" : "[check] FAILED: a product is wrong");
        return ok ? 0 : 1;
    }
}
