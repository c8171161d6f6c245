using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>The effective-gradient terms of a fused update in the parameter's type (flags are 0 or 1).</summary>
internal struct GradientTerms<T> where T : unmanaged
{
    public T L1, L2, Wd;
    public int Negate, HasL1, HasL2, HasWd;
}

/// <summary>Scalars of one Adam/AdamW step (see <see cref="NeuralCore.Backends.FusedAdamParams"/>), already in the parameter's type.</summary>
internal struct AdamScalars<T> where T : unmanaged
{
    public GradientTerms<T> Terms;
    public T B1, OneMinusB1, B2, OneMinusB2, Bias2Sqrt, Eps, StepScale, Decay;
    public int Decoupled, Amsgrad;
}

/// <summary>Scalars of one SGD step (see <see cref="NeuralCore.Backends.FusedSgdParams"/>), already in the parameter's type.</summary>
internal struct SgdScalars<T> where T : unmanaged
{
    public GradientTerms<T> Terms;
    public T NegLr, Momentum, OneMinusDampening;
    public int HasBuffer, Nesterov, Initialize;
}

/// <summary>
/// One-pass optimizer updates, one thread per parameter element: the weight, its gradient and its state are
/// each read once and written once. Every element is computed with the operations of the CPU backend's fused
/// update (and so of the composed tensor update), in the same order and in the parameter's precision. All views
/// start at the operand's first element and are dense.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>Adam/AdamW; <paramref name="vmax"/> is read and written only with AMSGrad.</summary>
    public static void Adam<T, N>(Index1D i, ArrayView<T> w, ArrayView<T> g, ArrayView<T> m, ArrayView<T> v, ArrayView<T> vmax, AdamScalars<T> s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        T wi = w[i];
        T e = Effective<T, N>(g[i], wi, s.Terms);
        if (s.Decoupled != 0) wi = n.Mul(wi, s.Decay);
        T mi = n.Add(n.Mul(m[i], s.B1), n.Mul(e, s.OneMinusB1));
        T vi = n.Add(n.Mul(v[i], s.B2), n.Mul(n.Mul(e, e), s.OneMinusB2));
        m[i] = mi;
        v[i] = vi;
        if (s.Amsgrad != 0)
        {
            T old = vmax[i];
            vi = n.IsNaN(old) ? old : n.IsNaN(vi) || n.Lt(old, vi) ? vi : old;
            vmax[i] = vi;
        }
        T denom = n.Add(n.Div(n.Sqrt(vi), s.Bias2Sqrt), s.Eps);
        w[i] = n.Add(wi, n.Mul(n.Div(mi, denom), s.StepScale));
    }

    /// <summary>SGD with optional momentum buffer <paramref name="b"/> (read and written only when there is one).</summary>
    public static void Sgd<T, N>(Index1D i, ArrayView<T> w, ArrayView<T> g, ArrayView<T> b, SgdScalars<T> s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        T wi = w[i];
        T e = Effective<T, N>(g[i], wi, s.Terms);
        if (s.HasBuffer != 0)
        {
            T bi = s.Initialize != 0 ? e : n.Add(n.Mul(b[i], s.Momentum), n.Mul(e, s.OneMinusDampening));
            b[i] = bi;
            e = s.Nesterov != 0 ? n.Add(e, n.Mul(bi, s.Momentum)) : bi;
        }
        w[i] = n.Add(wi, n.Mul(e, s.NegLr));
    }

    // gradSign·g + l1·sign(w) + l2Factor·w + wd·w, each term only when present (sign(NaN) = 0, as the CPU's vector path).
    static T Effective<T, N>(T g, T w, GradientTerms<T> t) where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        if (t.Negate != 0) g = n.Neg(g);
        if (t.HasL1 != 0)
        {
            T sign = n.Lt(n.Zero, w) ? n.One : n.Lt(w, n.Zero) ? n.Neg(n.One) : n.Zero;
            g = n.Add(g, n.Mul(sign, t.L1));
        }
        if (t.HasL2 != 0) g = n.Add(g, n.Mul(w, t.L2));
        if (t.HasWd != 0) g = n.Add(g, n.Mul(w, t.Wd));
        return g;
    }
}
