using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu;

// Fused cross-entropy: each row of logits is read once forward (max, Σ exp, the target's logit) and once
// backward (softmax minus the one-hot target, scaled); nothing of size [N, C] is kept between the two.
public sealed unsafe partial class CpuBackend : IFusedLossKernels
{
    /// <inheritdoc />
    public void CrossEntropyForward(BufferView logits, BufferView target, long ignoreIndex, bool mean, BufferView saved, BufferView output)
    {
        FusedOperandChecks.CrossEntropy(logits, target, saved);
        bool perSample = FusedOperandChecks.CrossEntropyOutput(logits, output);
        long valid = CountValidTargets(target, logits.Shape[1], ignoreIndex);
        if (logits.DType == DType.Float32) CrossEntropyForward<float>(logits, target, ignoreIndex, mean, perSample, valid, saved, output);
        else CrossEntropyForward<double>(logits, target, ignoreIndex, mean, perSample, valid, saved, output);
    }

    /// <inheritdoc />
    public void CrossEntropyBackward(BufferView logits, BufferView target, long ignoreIndex, BufferView saved,
        BufferView gradOutput, BufferView gradInput)
    {
        FusedOperandChecks.CrossEntropy(logits, target, saved);
        bool perSample = FusedOperandChecks.CrossEntropyGradients(logits, gradOutput, gradInput);
        if (logits.DType == DType.Float32) CrossEntropyBackward<float>(logits, target, ignoreIndex, perSample, saved, gradOutput, gradInput);
        else CrossEntropyBackward<double>(logits, target, ignoreIndex, perSample, saved, gradOutput, gradInput);
    }

    static long TargetAt(BufferView target, int i) =>
        target.DType == DType.Int64 ? Cpu(target).Pointer<long>()[target.Offset + i] : Cpu(target).Pointer<int>()[target.Offset + i];

    static long CountValidTargets(BufferView target, int classes, long ignoreIndex)
    {
        long valid = 0;
        for (int i = 0; i < target.Count; i++)
        {
            long t = TargetAt(target, i);
            if (t == ignoreIndex) continue;
            if (t < 0 || t >= classes) throw new ArgumentException($"CrossEntropy: target {t} is out of range for {classes} classes.");
            valid++;
        }
        return valid;
    }

    static void CrossEntropyForward<T>(BufferView logits, BufferView target, long ignoreIndex, bool mean, bool perSample,
        long valid, BufferView saved, BufferView output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Shape[0], c = logits.Shape[1];
        T* x = Ptr<T>(logits), lse = Ptr<T>(saved), o = Ptr<T>(output);
        lse[n] = mean ? T.CreateChecked(valid) : T.One;
        // The row sums are accumulated in double for both dtypes, then rounded once.
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var row = new ReadOnlySpan<T>(x + (long)i * c, c);
            T rowLse = RowLogSumExp(row);
            lse[i] = rowLse;
            long t = TargetAt(target, i);
            T loss = t == ignoreIndex ? T.Zero : rowLse - row[(int)t];
            if (perSample) o[i] = loss;
            else total += double.CreateChecked(loss);
        }
        if (!perSample) o[0] = T.CreateChecked(mean ? total / valid : total);
    }

    // log Σ exp(x) over one row: shifted by the row maximum, as LogSoftmax does. A row that is all −∞ gives −∞
    // and one holding +∞ gives +∞ (the shift would make them NaN); NaN propagates.
    static T RowLogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.Length == 0) return T.NegativeInfinity;
        T max = TensorPrimitives.Max(row);
        if (T.IsInfinity(max)) return max;
        double sum = 0;
        for (int j = 0; j < row.Length; j++) sum += double.CreateChecked(T.Exp(row[j] - max));
        return max + T.CreateChecked(Math.Log(sum));
    }

    static void CrossEntropyBackward<T>(BufferView logits, BufferView target, long ignoreIndex, bool perSample,
        BufferView saved, BufferView gradOutput, BufferView gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Shape[0], c = logits.Shape[1];
        T* x = Ptr<T>(logits), lse = Ptr<T>(saved), dy = Ptr<T>(gradOutput), dx = Ptr<T>(gradInput);
        T divisor = lse[n];
        for (int i = 0; i < n; i++)
        {
            var outRow = new Span<T>(dx + (long)i * c, c);
            long t = TargetAt(target, i);
            if (t == ignoreIndex)
            {
                outRow.Clear();
                continue;
            }
            T s = (perSample ? dy[i] : dy[0]) / divisor;
            var row = new ReadOnlySpan<T>(x + (long)i * c, c);
            T shift = lse[i];
            for (int j = 0; j < c; j++) outRow[j] = T.Exp(row[j] - shift);
            outRow[(int)t] -= T.One;
            TensorPrimitives.Multiply(outRow, s, outRow);
        }
    }
}
