namespace NeuralCore.Testing;

/// <summary>Specs of the elementwise ops: unary functions here, binary and scalar-operand forms in the other part.</summary>
internal static partial class ElementwiseSpecs
{
    internal static readonly DType[] Floats = [DType.Float32, DType.Float64];
    internal static readonly DType[] Numeric = [DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.UInt8];
    internal static readonly DType[] FloatsAndInts = [DType.Float32, DType.Float64, DType.Int32, DType.Int64];
    internal static readonly DType[] AllTypes = [DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.UInt8, DType.Bool];

    // Inputs kept 1e-2 away from 0 so relu/abs/sign/leaky-relu/elu are smooth over GradCheck's ±1e-6 steps.
    static readonly ValueDomain AwayFromZero = ValueDomain.Standard with { Avoid = [0], Margin = 1e-2 };

    // Floor/ceil/round jump at integers and half-integers; keep every sample 1e-2 away from them.
    static readonly ValueDomain AwayFromHalves = ValueDomain.Standard with { AvoidPeriod = 0.5, Margin = 1e-2 };

    static readonly ValueDomain ClampDomain = ValueDomain.Standard with { Avoid = [-0.5, 0.8], Margin = 1e-2 };

    public static IEnumerable<OpSpec> All() => Unaries().Concat(Binaries()).Concat(ScalarForms());

    static IEnumerable<OpSpec> Unaries()
    {
        var transcendental = OpTolerances.Transcendental;
        yield return Unary("Neg", x => x.Neg(), v => -v, Numeric);
        yield return Unary("Neg.operator", x => -x, v => -v, Numeric);
        yield return Unary("Abs", x => x.Abs(), Math.Abs, Numeric, AwayFromZero);
        yield return Unary("Square", x => x.Square(), v => v * v, Numeric);
        yield return Unary("Sign", x => x.Sign(), v => Math.Sign(v), Numeric, AwayFromZero);
        yield return Unary("Relu", x => x.Relu(), v => Math.Max(v, 0), Numeric, AwayFromZero);
        yield return Unary("Exp", x => x.Exp(), Math.Exp, FloatsAndInts, tolerances: transcendental, floating: true);
        yield return Unary("Log", x => x.Log(), Math.Log, FloatsAndInts, ValueDomain.Positive, transcendental, floating: true);
        yield return Unary("Sqrt", x => x.Sqrt(), Math.Sqrt, FloatsAndInts, ValueDomain.Positive, floating: true);
        yield return Unary("Rsqrt", x => x.Rsqrt(), v => 1 / Math.Sqrt(v), Floats, ValueDomain.Positive);
        yield return Unary("Reciprocal", x => x.Reciprocal(), v => 1 / v, Floats, ValueDomain.Positive with { RandomSign = true });
        yield return Unary("Tanh", x => x.Tanh(), Math.Tanh, FloatsAndInts, tolerances: transcendental, floating: true);
        yield return Unary("Sigmoid", x => x.Sigmoid(), ReferenceMath.Sigmoid, FloatsAndInts, tolerances: transcendental, floating: true);
        yield return Unary("Sin", x => x.Sin(), Math.Sin, FloatsAndInts, ValueDomain.Standard with { Low = -4, High = 4 }, transcendental, floating: true);
        yield return Unary("Cos", x => x.Cos(), Math.Cos, Floats, ValueDomain.Standard with { Low = -4, High = 4 }, transcendental);
        yield return Unary("Erf", x => x.Erf(), ReferenceMath.Erf, Floats, ValueDomain.Standard with { Low = -3, High = 3 }, transcendental);
        yield return Unary("Gelu", x => x.Gelu(), ReferenceMath.Gelu, Floats, ValueDomain.Standard with { Low = -3, High = 3 }, transcendental);
        yield return Unary("Softplus", x => x.Softplus(), v => Math.Log(1 + Math.Exp(v)), Floats, ValueDomain.Standard with { Low = -5, High = 5 }, transcendental);
        yield return Unary("LeakyRelu", x => x.LeakyRelu(), v => v > 0 ? v : 0.01 * v, Floats, AwayFromZero);
        yield return Unary("LeakyRelu.slope0.2", x => x.LeakyRelu(0.2), v => v > 0 ? v : 0.2 * v, Floats, AwayFromZero);
        yield return Unary("Elu", x => x.Elu(), v => v > 0 ? v : Math.Exp(v) - 1, Floats, AwayFromZero, transcendental);
        yield return Unary("Elu.alpha1.5", x => x.Elu(1.5), v => v > 0 ? v : 1.5 * (Math.Exp(v) - 1), Floats, AwayFromZero, transcendental);
        yield return Unary("Pow.scalar2", x => x.Pow(2), v => v * v, Floats, tolerances: transcendental);
        yield return Unary("Pow.scalar3", x => x.Pow(3), v => v * v * v, Floats, tolerances: transcendental);
        yield return Unary("Pow.scalar2.5", x => x.Pow(2.5), v => Math.Pow(v, 2.5), Floats, ValueDomain.Positive, transcendental);
        yield return Unary("Pow.scalar-0.5", x => x.Pow(-0.5), v => Math.Pow(v, -0.5), Floats, ValueDomain.Positive, transcendental);
        yield return Unary("Clamp", x => x.Clamp(-0.5, 0.8), v => Math.Min(Math.Max(v, -0.5), 0.8), Floats, ClampDomain);
        yield return Unary("Clamp.int", x => x.Clamp(-3, 4), v => Math.Min(Math.Max(v, -3), 4), Numeric, ClampDomain);
        yield return Unary("Clamp.min", x => x.Clamp(min: -0.5), v => Math.Max(v, -0.5), Floats, ClampDomain);
        yield return Unary("Clamp.max", x => x.Clamp(max: 0.8), v => Math.Min(v, 0.8), Floats, ClampDomain);
        yield return Unary("Floor", x => x.Floor(), Math.Floor, Floats, AwayFromHalves);
        yield return Unary("Ceil", x => x.Ceil(), Math.Ceiling, Floats, AwayFromHalves);
        yield return Unary("Round", x => x.Round(), v => Math.Round(v, MidpointRounding.ToEven), Floats, AwayFromHalves);
        yield return Unary("Round.halves", x => x.Round(), v => Math.Round(v, MidpointRounding.ToEven), Floats,
            ValueDomain.Standard with { Low = -4, High = 4, Lattice = 0.5 }, differentiable: false);
    }

    /// <summary>A one-input op; <paramref name="floating"/> means integer inputs give Float32 results.</summary>
    static OpSpec Unary(string name, Func<Tensor, Tensor> op, Func<double, double> f, DType[] dtypes, ValueDomain? domain = null,
        OpTolerances? tolerances = null, bool floating = false, bool differentiable = true) => new()
        {
            Name = name,
            Arity = 1,
            Forward = (x, _) => op(x[0]),
            Reference = (x, _) => x[0].Map(f, floating ? PyTorchTypes.Floating(x[0].DType) : x[0].DType),
            DTypes = dtypes,
            Differentiable = differentiable,
            Tolerances = tolerances ?? OpTolerances.Arithmetic,
            SampleGenerator = (dtype, rng) => SampleSets.Unary(dtype, rng, domain ?? ValueDomain.Standard),
        };
}
