namespace NeuralCore.Testing;

/// <summary>
/// Everything the generated tests need to know about one op (after PyTorch's OpInfo): how to call it, a
/// plain-loop reference implementation, the dtypes it supports, whether it is differentiable, tolerances, and
/// a generator of sample inputs covering 0-d, empty, broadcast, non-contiguous and odd-sized cases.
/// Registering a spec in <see cref="OpRegistry"/> is all it takes to get reference, conformance and
/// GradCheck tests for the op.
/// </summary>
public sealed class OpSpec
{
    /// <summary>Unique name, used in test case ids (e.g. "Exp", "Sum.dims").</summary>
    public required string Name { get; init; }

    /// <summary>Number of tensor inputs (index and condition tensors included); -1 when it varies (Cat, Stack).</summary>
    public required int Arity { get; init; }

    /// <summary>Calls the op under test on the inputs of a sample, with the sample's arguments.</summary>
    public required Func<Tensor[], SampleInput, Tensor> Forward { get; init; }

    /// <summary>The reference: computes the expected result, including its dtype, from the inputs with plain loops.</summary>
    public required Func<RefTensor[], SampleInput, RefTensor> Reference { get; init; }

    /// <summary>The dtypes of the primary inputs the op supports (index tensors stay Int64).</summary>
    public required IReadOnlyList<DType> DTypes { get; init; }

    /// <summary>Produces the samples for one dtype; must be deterministic for a given generator state.</summary>
    public required Func<DType, Generator, IEnumerable<SampleInput>> SampleGenerator { get; init; }

    /// <summary>True when the op has a gradient that GradCheck should verify (in Float64).</summary>
    public bool Differentiable { get; init; } = true;

    /// <summary>Tolerances for floating results; integer and Bool results are always exact.</summary>
    public OpTolerances Tolerances { get; init; } = OpTolerances.Arithmetic;

    /// <summary>The samples for <paramref name="dtype"/>, drawn from <paramref name="rng"/>.</summary>
    public IEnumerable<SampleInput> Samples(DType dtype, Generator rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return SampleGenerator(dtype, rng);
    }

    /// <summary>The samples for <paramref name="dtype"/> from a generator seeded by the op name and dtype, so they are the same on every run.</summary>
    public IEnumerable<SampleInput> Samples(DType dtype) => Samples(dtype, new Generator(Seed(dtype)));

    /// <summary>The op as a function of its tensor inputs only, with the sample's other arguments bound (for GradCheck).</summary>
    public Func<Tensor[], Tensor> Bind(SampleInput sample) => inputs => Forward(inputs, sample);

    /// <summary>The reference result for a sample.</summary>
    public RefTensor Expected(SampleInput sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return Reference(sample.RefInputs(), sample);
    }

    // FNV-1a over the name: string.GetHashCode is randomised per process, which would change the samples.
    long Seed(DType dtype)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in Name + "|" + dtype)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return (long)(h & long.MaxValue);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
