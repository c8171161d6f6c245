namespace NeuralCore.Testing;

internal static partial class ElementwiseSpecs
{
    // Two lattices 0.25 apart offset by 0.125: an element of one never ties with an element of the other, so
    // maximum/minimum never hit their kink during GradCheck (integers may tie; they are not gradchecked).
    static readonly ValueDomain LatticeA = ValueDomain.Standard with { Lattice = 0.25, LatticeOffset = 0.0625 };
    static readonly ValueDomain LatticeB = ValueDomain.Standard with { Lattice = 0.25, LatticeOffset = 0.1875 };

    // Small integers in every dtype, so comparisons see many ties.
    static readonly ValueDomain Ties = new(-3, 3.99) { Lattice = 1, Integers = (-3, 3) };

    static readonly ValueDomain Divisor = new ValueDomain(0.5, 2) { RandomSign = true, Integers = (1, 5) };

    static IEnumerable<OpSpec> Binaries()
    {
        var standard = ValueDomain.Standard;
        yield return Binary("Add", (a, b) => a.Add(b), (a, b) => a + b, Numeric, standard, standard);
        yield return Binary("Add.operator", (a, b) => a + b, (a, b) => a + b, Numeric, standard, standard);
        yield return Binary("Add.alpha", (a, b) => a.Add(b, 0.5), (a, b) => a + 0.5 * b, Floats, standard, standard);
        yield return Binary("Sub", (a, b) => a.Sub(b), (a, b) => a - b, Numeric, standard, standard);
        yield return Binary("Mul", (a, b) => a.Mul(b), (a, b) => a * b, Numeric, standard, standard);
        yield return Binary("Div", (a, b) => a.Div(b), (a, b) => a / b, Numeric, standard, Divisor, PyTorchTypes.Floating);
        yield return Binary("Pow", (a, b) => a.Pow(b), Math.Pow, Floats, ValueDomain.Positive, standard, tolerances: OpTolerances.Transcendental);
        yield return Binary("Maximum", (a, b) => a.Maximum(b), Math.Max, Numeric, LatticeA, LatticeB);
        yield return Binary("Minimum", (a, b) => a.Minimum(b), Math.Min, Numeric, LatticeA, LatticeB);
        // The backend primitive behind ReLU's gradient (g where x > 0, else 0); x on integers so it is often exactly 0.
        yield return Binary("ReluBackward", (g, x) => Tensor.ReluBackward(g, x), (g, x) => x > 0 ? g : 0, Numeric, standard, Ties, differentiable: false);
        yield return Compare("Eq", (a, b) => a.Eq(b), (a, b) => a == b);
        yield return Compare("Ne", (a, b) => a.Ne(b), (a, b) => a != b);
        yield return Compare("Lt", (a, b) => a.Lt(b), (a, b) => a < b);
        yield return Compare("Le", (a, b) => a.Le(b), (a, b) => a <= b);
        yield return Compare("Gt", (a, b) => a.Gt(b), (a, b) => a > b);
        yield return Compare("Ge", (a, b) => a.Ge(b), (a, b) => a >= b);
        yield return Compare("Gt.operator", (a, b) => a > b, (a, b) => a > b);
        yield return Compare("Lt.operator", (a, b) => a < b, (a, b) => a < b);
        yield return Compare("Ge.operator", (a, b) => a >= b, (a, b) => a >= b);
        yield return Compare("Le.operator", (a, b) => a <= b, (a, b) => a <= b);
        yield return Where();
    }

    static IEnumerable<OpSpec> ScalarForms()
    {
        var standard = ValueDomain.Standard;
        yield return WithScalar("Add.scalar2.5", x => x + 2.5, v => v + 2.5, 2.5, Numeric, standard);
        yield return WithScalar("Add.scalar2", x => x + 2, v => v + 2, 2, Numeric, standard);
        yield return WithScalar("Add.scalarLeft", x => 2.5 + x, v => 2.5 + v, 2.5, Numeric, standard);
        yield return WithScalar("Sub.scalar", x => x - 0.75, v => v - 0.75, 0.75, Numeric, standard);
        yield return WithScalar("RSub.scalar2", x => 2 - x, v => 2 - v, 2, Numeric, standard);
        yield return WithScalar("Mul.scalar", x => x * -1.5, v => v * -1.5, -1.5, Numeric, standard);
        yield return WithScalar("Mul.scalar3", x => 3 * x, v => 3 * v, 3, Numeric, standard);
        yield return WithScalar("Div.scalar", x => x / 4, v => v / 4, 4, Numeric, standard, PyTorchTypes.Floating);
        yield return WithScalar("RDiv.scalar", x => 2 / x, v => 2 / v, 2, Numeric, Divisor, PyTorchTypes.Floating);
        yield return WithScalar("Gt.scalar", x => x.Gt(0.5), v => v > 0.5 ? 1 : 0, 0.5, AllTypes, Ties, _ => DType.Bool, false);
        yield return WithScalar("Eq.scalar", x => x.Eq(1), v => v == 1 ? 1 : 0, 1, AllTypes, Ties, _ => DType.Bool, false);
        yield return WithScalar("Le.scalar", x => x.Le(-1), v => v <= -1 ? 1 : 0, -1, FloatsAndInts, Ties, _ => DType.Bool, false);
        yield return WithScalar("Gt.operatorScalar", x => x > 0.5, v => v > 0.5 ? 1 : 0, 0.5, AllTypes, Ties, _ => DType.Bool, false);
        yield return WithScalar("Lt.operatorScalarLeft", x => 1 < x, v => 1 < v ? 1 : 0, 1, AllTypes, Ties, _ => DType.Bool, false);
        yield return WithScalar("Ge.operatorScalarLeft", x => -1 >= x, v => -1 >= v ? 1 : 0, -1, FloatsAndInts, Ties, _ => DType.Bool, false);
    }

    /// <summary>A broadcasting binary op; the result dtype is <paramref name="resultType"/> of the promoted input dtype.</summary>
    static OpSpec Binary(string name, Func<Tensor, Tensor, Tensor> op, Func<double, double, double> f, DType[] dtypes,
        ValueDomain a, ValueDomain b, Func<DType, DType>? resultType = null, OpTolerances? tolerances = null, bool differentiable = true) => new()
        {
            Name = name,
            Arity = 2,
            Forward = (x, _) => op(x[0], x[1]),
            Reference = (x, _) =>
            {
                var promoted = PyTorchTypes.Promote(x[0].DType, x[1].DType);
                return RefTensor.Zip(x[0], x[1], f, resultType is null ? promoted : resultType(promoted));
            },
            DTypes = dtypes,
            Differentiable = differentiable,
            Tolerances = tolerances ?? OpTolerances.Arithmetic,
            SampleGenerator = (dtype, rng) => SampleSets.Binary(dtype, rng, a, b),
        };

    static OpSpec Compare(string name, Func<Tensor, Tensor, Tensor> op, Func<double, double, bool> f) =>
        Binary(name, op, (a, b) => f(a, b) ? 1 : 0, AllTypes, Ties, Ties, _ => DType.Bool, OpTolerances.Exact, differentiable: false);

    /// <summary>A tensor combined with a C# scalar; the result dtype follows PyTorch's scalar rule, then <paramref name="resultType"/>.</summary>
    static OpSpec WithScalar(string name, Func<Tensor, Tensor> op, Func<double, double> f, double scalar, DType[] dtypes,
        ValueDomain domain, Func<DType, DType>? resultType = null, bool differentiable = true) => new()
        {
            Name = name,
            Arity = 1,
            Forward = (x, _) => op(x[0]),
            Reference = (x, _) =>
            {
                var promoted = PyTorchTypes.WithScalar(x[0].DType, scalar);
                return x[0].Map(f, resultType is null ? promoted : resultType(promoted));
            },
            DTypes = dtypes,
            Differentiable = differentiable,
            SampleGenerator = (dtype, rng) => SampleSets.Unary(dtype, rng, domain),
        };

    /// <summary>Where(condition, x, y) with all three broadcasting; condition is Bool, x and y promote.</summary>
    static OpSpec Where() => new()
    {
        Name = "Where",
        Arity = 3,
        Forward = (x, _) => Tensor.Where(x[0], x[1], x[2]),
        Reference = (x, _) => RefTensor.Generate(RefTensor.BroadcastShape(x[0].Shape, x[1].Shape, x[2].Shape), PyTorchTypes.Promote(x[1].DType, x[2].DType),
            i => x[0].AtBroadcast(i) != 0 ? x[1].AtBroadcast(i) : x[2].AtBroadcast(i)),
        DTypes = AllTypes,
        Tolerances = OpTolerances.Exact,
        SampleGenerator = WhereSamples,
    };

    static IEnumerable<SampleInput> WhereSamples(DType dtype, Generator rng)
    {
        var d = ValueDomain.Standard;
        Tensor C(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, DType.Bool, rng, d, l);
        Tensor V(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, d, l);
        yield return new("0d", [C([]), V([]), V([])]);
        yield return new("empty-0", [C([0]), V([0]), V([0])]);
        foreach (var n in new[] { 1, 7, 17, 33, 1000 }) yield return new($"len{n}", [C([n]), V([n]), V([n])]);
        yield return new("bcast-cond-3x1", [C([3, 1]), V([1, 4]), V([3, 4])]);
        yield return new("bcast-0d-values", [C([2, 3]), V([]), V([3])]);
        yield return new("noncontig", [C([4, 6], SampleLayout.Transposed), V([4, 6], SampleLayout.Narrowed), V([4, 6], SampleLayout.Expanded)]);
    }
}
