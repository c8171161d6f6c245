using System.Numerics;
using System.Runtime.Intrinsics;

namespace NeuralCore.Backends.Cpu;

// Fused optimizer updates: one pass over (parameter, gradient, state) per parameter. Each element is computed
// with exactly the operations, in the order and precision, of the composed Tensor update (see Optim/Adam.cs and
// Optim/Sgd.cs), so both paths agree element by element. The work is cut into fixed chunks, each computed by
// the same code whichever thread runs it, so results do not depend on the thread count.
public sealed unsafe partial class CpuBackend : IFusedOptimizerKernels
{
    const int OptimChunk = 16 * 1024;

    /// <inheritdoc />
    public void AdamUpdate(BufferView parameter, BufferView gradient, BufferView expAvg, BufferView expAvgSq,
        BufferView? maxExpAvgSq, in FusedAdamParams p)
    {
        FusedOperandChecks.Optimizer(nameof(AdamUpdate), parameter, gradient, expAvg, expAvgSq);
        if (maxExpAvgSq is { } vm) FusedOperandChecks.Optimizer(nameof(AdamUpdate), parameter, vm);
        switch (parameter.DType)
        {
            case DType.Float32: Adam<float>(parameter, gradient, expAvg, expAvgSq, maxExpAvgSq, p); break;
            case DType.Float64: Adam<double>(parameter, gradient, expAvg, expAvgSq, maxExpAvgSq, p); break;
            default: throw new ArgumentException($"{nameof(AdamUpdate)}: parameters must be Float32 or Float64, got {parameter.DType}.");
        }
    }

    /// <inheritdoc />
    public void SgdUpdate(BufferView parameter, BufferView gradient, BufferView? momentumBuffer, in FusedSgdParams p)
    {
        FusedOperandChecks.Optimizer(nameof(SgdUpdate), parameter, gradient);
        if (momentumBuffer is { } b) FusedOperandChecks.Optimizer(nameof(SgdUpdate), parameter, b);
        switch (parameter.DType)
        {
            case DType.Float32: Sgd<float>(parameter, gradient, momentumBuffer, p); break;
            case DType.Float64: Sgd<double>(parameter, gradient, momentumBuffer, p); break;
            default: throw new ArgumentException($"{nameof(SgdUpdate)}: parameters must be Float32 or Float64, got {parameter.DType}.");
        }
    }

    static T* Ptr<T>(BufferView v) where T : unmanaged => Cpu(v).Pointer<T>() + v.Offset;

    struct GradTerms<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T L1, L2, Wd;
        public bool Negate, HasL1, HasL2, HasWd;

        public GradTerms(in FusedGradientTerms t)
        {
            Negate = t.GradSign < 0;
            HasL1 = t.L1 != 0;
            HasL2 = t.L2Factor != 0;
            HasWd = t.CoupledDecay != 0;
            L1 = T.CreateChecked(t.L1);
            L2 = T.CreateChecked(t.L2Factor);
            Wd = T.CreateChecked(t.CoupledDecay);
        }

        // The composed path: g.Neg(), g.Add(w.Sign(), l1), g.Add(w, 2·l2), then the optimizer's g.Add(w, wd).
        public readonly Vector<T> Apply(Vector<T> g, Vector<T> w)
        {
            if (Negate) g = -g;
            if (HasL1) g += Sign(w) * new Vector<T>(L1);
            if (HasL2) g += w * new Vector<T>(L2);
            if (HasWd) g += w * new Vector<T>(Wd);
            return g;
        }

        public readonly Vector512<T> Apply(Vector512<T> g, Vector512<T> w)
        {
            if (Negate) g = -g;
            if (HasL1) g += (Vector512.ConditionalSelect(Vector512.GreaterThan(w, Vector512<T>.Zero), Vector512<T>.One, Vector512<T>.Zero)
                - Vector512.ConditionalSelect(Vector512.LessThan(w, Vector512<T>.Zero), Vector512<T>.One, Vector512<T>.Zero)) * Vector512.Create(L1);
            if (HasL2) g += w * Vector512.Create(L2);
            if (HasWd) g += w * Vector512.Create(Wd);
            return g;
        }

        public readonly Vector256<T> Apply(Vector256<T> g, Vector256<T> w)
        {
            if (Negate) g = -g;
            if (HasL1) g += (Vector256.ConditionalSelect(Vector256.GreaterThan(w, Vector256<T>.Zero), Vector256<T>.One, Vector256<T>.Zero)
                - Vector256.ConditionalSelect(Vector256.LessThan(w, Vector256<T>.Zero), Vector256<T>.One, Vector256<T>.Zero)) * Vector256.Create(L1);
            if (HasL2) g += w * Vector256.Create(L2);
            if (HasWd) g += w * Vector256.Create(Wd);
            return g;
        }

        public readonly T Apply(T g, T w)
        {
            if (Negate) g = -g;
            if (HasL1) g += T.CreateChecked(T.Sign(w)) * L1;
            if (HasL2) g += w * L2;
            if (HasWd) g += w * Wd;
            return g;
        }

        static Vector<T> Sign(Vector<T> w) =>
            Vector.ConditionalSelect(Vector.GreaterThan(w, Vector<T>.Zero), Vector<T>.One, Vector<T>.Zero)
            - Vector.ConditionalSelect(Vector.LessThan(w, Vector<T>.Zero), Vector<T>.One, Vector<T>.Zero);
    }

    struct AdamJob<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* W, G, M, V, Vmax;
        public int Count;
        public GradTerms<T> Terms;
        public T B1, OneMinusB1, B2, OneMinusB2, Bias2Sqrt, Eps, StepScale, Decay;
        public bool Decoupled;
    }

    static void Adam<T>(BufferView w, BufferView g, BufferView m, BufferView v, BufferView? vmax, in FusedAdamParams p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = new AdamJob<T>
        {
            W = Ptr<T>(w), G = Ptr<T>(g), M = Ptr<T>(m), V = Ptr<T>(v), Vmax = vmax is { } vm ? Ptr<T>(vm) : null,
            Count = w.Count,
            Terms = new GradTerms<T>(p.Terms),
            B1 = T.CreateChecked(p.Beta1), OneMinusB1 = T.CreateChecked(1 - p.Beta1),
            B2 = T.CreateChecked(p.Beta2), OneMinusB2 = T.CreateChecked(1 - p.Beta2),
            Bias2Sqrt = T.CreateChecked(p.Bias2Sqrt), Eps = T.CreateChecked(p.Eps),
            StepScale = T.CreateChecked(p.StepScale), Decay = T.CreateChecked(p.DecoupledScale),
            Decoupled = p.DecoupledScale != 1,
        };
        int chunks = (job.Count + OptimChunk - 1) / OptimChunk;
        CpuParallel.ForRange(chunks, 16L * OptimChunk, job, static (start, end, j) =>
        {
            int from = start * OptimChunk, to = Math.Min(j.Count, end * OptimChunk);
            AdamRange(in j, from, to);
        });
    }

    static void AdamRange<T>(in AdamJob<T> j, int from, int to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = from;
        if (Vector512.IsHardwareAccelerated)
        {
            var b1 = Vector512.Create(j.B1); var c1 = Vector512.Create(j.OneMinusB1);
            var b2 = Vector512.Create(j.B2); var c2 = Vector512.Create(j.OneMinusB2);
            var bias2 = Vector512.Create(j.Bias2Sqrt); var eps = Vector512.Create(j.Eps);
            var step = Vector512.Create(j.StepScale); var decay = Vector512.Create(j.Decay);
            for (; i <= to - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var w = Vector512.Load(j.W + i);
                var e = j.Terms.Apply(Vector512.Load(j.G + i), w);
                if (j.Decoupled) w *= decay;
                var m = Vector512.Load(j.M + i) * b1 + e * c1;
                var v = Vector512.Load(j.V + i) * b2 + (e * e) * c2;
                m.Store(j.M + i);
                v.Store(j.V + i);
                if (j.Vmax != null)
                {
                    v = Vector512.Max(Vector512.Load(j.Vmax + i), v);
                    v.Store(j.Vmax + i);
                }
                var denom = Vector512.Sqrt(v) / bias2 + eps;
                (w + (m / denom) * step).Store(j.W + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var b1 = Vector256.Create(j.B1); var c1 = Vector256.Create(j.OneMinusB1);
            var b2 = Vector256.Create(j.B2); var c2 = Vector256.Create(j.OneMinusB2);
            var bias2 = Vector256.Create(j.Bias2Sqrt); var eps = Vector256.Create(j.Eps);
            var step = Vector256.Create(j.StepScale); var decay = Vector256.Create(j.Decay);
            for (; i <= to - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var w = Vector256.Load(j.W + i);
                var e = j.Terms.Apply(Vector256.Load(j.G + i), w);
                if (j.Decoupled) w *= decay;
                var m = Vector256.Load(j.M + i) * b1 + e * c1;
                var v = Vector256.Load(j.V + i) * b2 + (e * e) * c2;
                m.Store(j.M + i);
                v.Store(j.V + i);
                if (j.Vmax != null)
                {
                    v = Vector256.Max(Vector256.Load(j.Vmax + i), v);
                    v.Store(j.Vmax + i);
                }
                var denom = Vector256.Sqrt(v) / bias2 + eps;
                (w + (m / denom) * step).Store(j.W + i);
            }
        }
        for (; i < to; i++)
        {
            T w = j.W[i];
            T e = j.Terms.Apply(j.G[i], w);
            if (j.Decoupled) w *= j.Decay;
            T m = j.M[i] * j.B1 + e * j.OneMinusB1;
            T v = j.V[i] * j.B2 + (e * e) * j.OneMinusB2;
            j.M[i] = m;
            j.V[i] = v;
            if (j.Vmax != null)
            {
                T old = j.Vmax[i];
                v = T.IsNaN(old) || T.IsNaN(v) ? T.NaN : T.Max(old, v);
                j.Vmax[i] = v;
            }
            T denom = T.Sqrt(v) / j.Bias2Sqrt + j.Eps;
            j.W[i] = w + (m / denom) * j.StepScale;
        }
    }

    struct SgdJob<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* W, G, B;
        public int Count;
        public GradTerms<T> Terms;
        public T NegLr, Momentum, OneMinusDampening;
        public bool Nesterov, Initialize;
    }

    static void Sgd<T>(BufferView w, BufferView g, BufferView? buffer, in FusedSgdParams p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = new SgdJob<T>
        {
            W = Ptr<T>(w), G = Ptr<T>(g), B = buffer is { } b ? Ptr<T>(b) : null,
            Count = w.Count,
            Terms = new GradTerms<T>(p.Terms),
            NegLr = T.CreateChecked(-p.Lr), Momentum = T.CreateChecked(p.Momentum),
            OneMinusDampening = T.CreateChecked(1 - p.Dampening),
            Nesterov = p.Nesterov, Initialize = p.InitializeBuffer,
        };
        int chunks = (job.Count + OptimChunk - 1) / OptimChunk;
        CpuParallel.ForRange(chunks, 6L * OptimChunk, job, static (start, end, j) =>
        {
            int from = start * OptimChunk, to = Math.Min(j.Count, end * OptimChunk);
            SgdRange(in j, from, to);
        });
    }

    static void SgdRange<T>(in SgdJob<T> j, int from, int to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = from;
        if (Vector.IsHardwareAccelerated)
        {
            var negLr = new Vector<T>(j.NegLr);
            var mom = new Vector<T>(j.Momentum);
            var damp = new Vector<T>(j.OneMinusDampening);
            for (; i <= to - Vector<T>.Count; i += Vector<T>.Count)
            {
                var w = Vector.Load(j.W + i);
                var e = j.Terms.Apply(Vector.Load(j.G + i), w);
                if (j.B != null)
                {
                    var b = j.Initialize ? e : Vector.Load(j.B + i) * mom + e * damp;
                    b.Store(j.B + i);
                    e = j.Nesterov ? e + b * mom : b;
                }
                (w + e * negLr).Store(j.W + i);
            }
        }
        for (; i < to; i++)
        {
            T w = j.W[i];
            T e = j.Terms.Apply(j.G[i], w);
            if (j.B != null)
            {
                T b = j.Initialize ? e : j.B[i] * j.Momentum + e * j.OneMinusDampening;
                j.B[i] = b;
                e = j.Nesterov ? e + b * j.Momentum : b;
            }
            j.W[i] = w + e * j.NegLr;
        }
    }
}
