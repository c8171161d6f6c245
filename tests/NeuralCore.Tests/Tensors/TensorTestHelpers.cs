using System.Runtime.CompilerServices;

namespace NeuralCore.Tests.Tensors;

/// <summary>Small independent helpers for the tensor tests: naive element readers and tolerant comparisons.</summary>
internal static class TensorTestHelpers
{
    /// <summary>Reads element <paramref name="index"/> of <paramref name="t"/> from its raw storage through its own strides and offset.</summary>
    /// <remarks>
    /// Independent of every copy/contiguous kernel: the whole storage is downloaded as a flat vector, then the
    /// element address is computed by hand.
    /// </remarks>
    public static double At(Tensor t, double[] rawStorage, params int[] index)
    {
        long at = t.offset;
        for (int d = 0; d < index.Length; d++) at += (long)index[d] * t.strides[d];
        return rawStorage[at];
    }

    /// <summary>The whole storage behind <paramref name="t"/> as doubles, in storage order.</summary>
    public static double[] RawStorage(Tensor t)
    {
        var flat = new Tensor(t.storage, [t.storage.Length], [1], 0);
        var values = flat.ToArray<double>();
        flat.Dispose();
        return values;
    }

    /// <summary>Every multi-index of <paramref name="shape"/> in row-major order.</summary>
    public static IEnumerable<int[]> Indices(IReadOnlyList<long> shape)
    {
        int rank = shape.Count;
        long total = 1;
        foreach (var s in shape) total *= s;
        var idx = new int[rank];
        for (long flat = 0; flat < total; flat++)
        {
            yield return (int[])idx.Clone();
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
    }

    /// <summary>Row-major flat position of <paramref name="index"/> in <paramref name="shape"/>.</summary>
    public static int Flat(IReadOnlyList<long> shape, int[] index)
    {
        long f = 0;
        for (int d = 0; d < index.Length; d++) f = f * shape[d] + index[d];
        return (int)f;
    }

    public static void AllClose(double[] expected, double[] actual, double atol = 1e-5, double rtol = 1e-5,
        [CallerArgumentExpression(nameof(actual))] string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (e == a) continue;
            Assert.True(Math.Abs(e - a) <= atol + rtol * Math.Abs(e),
                $"{what}: element {i}: expected {e}, got {a} (atol {atol}, rtol {rtol}).");
        }
    }

    public static void AllClose(float[] expected, float[] actual, double atol = 1e-5, double rtol = 1e-5,
        [CallerArgumentExpression(nameof(actual))] string what = "") =>
        AllClose(Array.ConvertAll(expected, v => (double)v), Array.ConvertAll(actual, v => (double)v), atol, rtol, what);

    public static double[] D(this Tensor t) => t.ToArray<double>();

    public static float[] F(this Tensor t) => t.ToArray<float>();

    public static long[] L(this Tensor t) => t.ToArray<long>();
}

/// <summary>
/// Tests that read process-wide state (<see cref="MemoryStats"/>, the default random generator) run in this
/// collection, which xunit runs alone after all parallel collections.
/// </summary>
[CollectionDefinition("Memory", DisableParallelization = true)]
public sealed class MemoryCollection;
