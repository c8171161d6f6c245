using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>Sizes and settings of one fused cross-entropy (flags are 0 or 1).</summary>
internal struct CrossEntropyShape
{
    public int Rows, Classes, PerSample, Mean, ErrorCode;
    public long IgnoreIndex;
}

/// <summary>
/// Fused cross-entropy over dense logits [Rows, Classes] and class-index targets (Int64 or Int32, read through
/// <c>NI</c>). Forward: one thread group per row finds the row maximum and Σ exp(x − max) with shared-memory
/// trees (the sum accumulated in double, as the CPU backend does), then one thread writes log Σ exp and the
/// row's loss; a single-group kernel then sums the losses and counts the non-ignored targets for a 0-d result.
/// The divisor of the mean is written next to the log Σ exp rows, so it never leaves the device. Backward: one
/// thread per logit. A target outside [0, Classes) is never dereferenced: it is recorded in the error slots
/// (see <see cref="IndexKernels.Report"/>), its loss is NaN, and the backend throws at the next read.
/// </summary>
internal static class LossKernels
{
    /// <summary>Largest group size (the static shared memory is sized for it).</summary>
    public const int MaxGroup = ReduceKernels.MaxGroup;

    /// <summary>saved[row] = log Σ exp(x[row]); loss[row] = saved[row] − x[row, t[row]] (0 when ignored); saved[Rows] = 1 for per-sample output.</summary>
    public static void RowForward<T, N, TI, NI>(ArrayView<T> x, ArrayView<TI> t, ArrayView<T> saved, ArrayView<T> loss, ArrayView<long> errors,
        CrossEntropyShape s)
        where T : unmanaged where N : struct, IFloating<T> where TI : unmanaged where NI : struct, INumeric<TI>
    {
        var n = default(N);
        var maxima = SharedMemory.Allocate<T>(MaxGroup);
        var sums = SharedMemory.Allocate<double>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, size = Group.DimX;
        int start = row * s.Classes;

        // The maximum, NaN winning (as TensorPrimitives.Max on the CPU).
        T best = n.FromDouble(double.NegativeInfinity);
        for (int j = tid; j < s.Classes; j += size) best = MaxNaN<T, N>(best, x[start + j]);
        maxima[tid] = best;
        Group.Barrier();
        for (int h = size / 2; h > 0; h >>= 1)
        {
            if (tid < h) maxima[tid] = MaxNaN<T, N>(maxima[tid], maxima[tid + h]);
            Group.Barrier();
        }
        T max = maxima[0];
        // An infinite maximum is the result itself (shifting by it would give NaN); NaN propagates through the sum.
        bool infinite = !n.IsNaN(max) && n.IsNaN(n.Sub(max, max));
        double sum = 0;
        if (!infinite)
            for (int j = tid; j < s.Classes; j += size) sum += n.ToDouble(n.Exp(n.Sub(x[start + j], max)));
        sums[tid] = sum;
        Group.Barrier();
        for (int h = size / 2; h > 0; h >>= 1)
        {
            if (tid < h) sums[tid] += sums[tid + h];
            Group.Barrier();
        }
        if (tid != 0) return;
        T lse = infinite ? max : n.Add(max, n.FromDouble(DeviceMath.Log(sums[0])));
        saved[row] = lse;
        long target = default(NI).ToLong(t[row]);
        T value;
        if (target == s.IgnoreIndex) value = n.Zero;
        else if (target < 0 || target >= s.Classes)
        {
            IndexKernels.Report(errors, s.ErrorCode, target, s.Classes);
            value = n.FromDouble(double.NaN);
        }
        else value = n.Sub(lse, x[start + (int)target]);
        loss[row] = value;
        if (row == 0 && s.PerSample != 0) saved[s.Rows] = n.One;
    }

    /// <summary>
    /// One group: output[0] = Σ loss (in double), divided by the number of non-ignored targets for the mean;
    /// saved[Rows] = that number for the mean, else 1.
    /// </summary>
    public static void Total<T, N, TI, NI>(ArrayView<T> loss, ArrayView<TI> t, ArrayView<T> saved, ArrayView<T> output, CrossEntropyShape s)
        where T : unmanaged where N : struct, IFloating<T> where TI : unmanaged where NI : struct, INumeric<TI>
    {
        var n = default(N);
        var sums = SharedMemory.Allocate<double>(MaxGroup);
        var counts = SharedMemory.Allocate<long>(MaxGroup);
        int tid = Group.IdxX, size = Group.DimX;
        double sum = 0;
        long count = 0;
        for (int j = tid; j < s.Rows; j += size)
        {
            sum += n.ToDouble(loss[j]);
            if (default(NI).ToLong(t[j]) != s.IgnoreIndex) count++;
        }
        sums[tid] = sum;
        counts[tid] = count;
        Group.Barrier();
        for (int h = size / 2; h > 0; h >>= 1)
        {
            if (tid < h)
            {
                sums[tid] += sums[tid + h];
                counts[tid] += counts[tid + h];
            }
            Group.Barrier();
        }
        if (tid != 0) return;
        double total = sums[0];
        long valid = counts[0];
        output[0] = n.FromDouble(s.Mean != 0 ? total / valid : total);
        saved[s.Rows] = s.Mean != 0 ? n.FromLong(valid) : n.One;
    }

    /// <summary>dx[i, c] = (exp(x[i, c] − saved[i]) − [c = t[i]]) · dy / saved[Rows], with dy per row or one value; 0 on ignored rows.</summary>
    public static void Backward<T, N, TI, NI>(Index1D i, ArrayView<T> x, ArrayView<TI> t, ArrayView<T> saved, ArrayView<T> dy, ArrayView<T> dx,
        CrossEntropyShape s)
        where T : unmanaged where N : struct, IFloating<T> where TI : unmanaged where NI : struct, INumeric<TI>
    {
        var n = default(N);
        int row = i / s.Classes, c = i - row * s.Classes;
        long target = default(NI).ToLong(t[row]);
        if (target == s.IgnoreIndex)
        {
            dx[i] = n.Zero;
            return;
        }
        T scale = n.Div(dy[s.PerSample != 0 ? row : 0], saved[s.Rows]);
        T v = n.Exp(n.Sub(x[i], saved[row]));
        if (c == target) v = n.Sub(v, n.One);
        dx[i] = n.Mul(v, scale);
    }

    static T MaxNaN<T, N>(T a, T b) where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        return n.IsNaN(a) ? a : n.IsNaN(b) || n.Lt(a, b) ? b : a;
    }
}
