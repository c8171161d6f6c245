namespace NeuralCore.Testing;

/// <summary>
/// The Float32/Float64 tolerance pairs the registry uses, each with the reason it is that size. References are
/// computed in double from the (exactly representable) inputs, so the tolerance only has to cover the
/// library's own rounding in the result dtype.
/// </summary>
public sealed record OpTolerances(Tolerance Float32, Tolerance Float64)
{
    /// <summary>Pure data movement and exactly representable results: no rounding at all is allowed.</summary>
    public static OpTolerances Exact { get; } = new(Tolerance.Exact, Tolerance.Exact);

    /// <summary>
    /// One correctly rounded arithmetic op (add, mul, div, sqrt, max): the error is at most half an ulp
    /// (6e-8 relative in Float32, 1.1e-16 in Float64), so rtol 1e-5 / 1e-12 leave a wide margin while still
    /// catching any wrong element. atol covers results that are (near) zero.
    /// </summary>
    public static OpTolerances Arithmetic { get; } = new(new(1e-6, 1e-5), new(1e-14, 1e-12));

    /// <summary>
    /// Transcendental functions (exp, log, tanh, erf, pow, sin): the SIMD paths of TensorPrimitives are
    /// approximations good to a few ulp, and composites such as sigmoid or gelu round two or three times.
    /// Float32 keeps rtol 1e-5 (~160 ulp); Float64 allows 1e-12 relative, far above a few ulp of 1.1e-16.
    /// </summary>
    public static OpTolerances Transcendental { get; } = new(new(1e-6, 1e-5), new(1e-13, 1e-12));

    /// <summary>
    /// Reductions and products over up to ~1000 terms: a summation of n values of magnitude ≤ 2 accumulates
    /// rounding of roughly √n·ε·max|partial sum| (about 1e-5 for n = 1000 in Float32), so atol is 1e-4 in
    /// Float32 and 1e-12 in Float64; rtol stays at the arithmetic value.
    /// </summary>
    public static OpTolerances Accumulating { get; } = new(new(1e-4, 1e-5), new(1e-12, 1e-12));

    /// <summary>The tolerance for results of <paramref name="dtype"/> (exact for integer and Bool results).</summary>
    public Tolerance For(DType dtype) => dtype switch
    {
        DType.Float32 => Float32,
        DType.Float64 => Float64,
        _ => Tolerance.Exact,
    };
}
