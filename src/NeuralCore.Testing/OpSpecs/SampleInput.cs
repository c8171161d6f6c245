namespace NeuralCore.Testing;

/// <summary>
/// One set of inputs for an op: the tensors (possibly non-contiguous views, possibly of mixed dtypes, index
/// tensors included), a description unique within the op and dtype (used in test names), and the op's
/// non-tensor arguments (scalar arguments are fixed by the spec itself).
/// </summary>
public sealed class SampleInput
{
    /// <summary>Creates a sample.</summary>
    public SampleInput(string description, Tensor[] inputs)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        ArgumentNullException.ThrowIfNull(inputs);
        Description = description;
        Inputs = inputs;
    }

    /// <summary>A short name such as "noncontig-transposed" or "bcast-3x1-1x4".</summary>
    public string Description { get; }

    /// <summary>The op's tensor inputs, in order.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>Integer arguments (dimensions, sizes, starts), as the op's spec defines them.</summary>
    public int[] Ints { get; init; } = [];

    /// <summary>The keepDim flag of reductions.</summary>
    public bool KeepDim { get; init; }

    /// <summary>Why GradCheck must skip this sample (it sits on a point where the op is not differentiable), or null.</summary>
    public string? NotDifferentiableReason { get; init; }

    /// <summary>The inputs as reference tensors.</summary>
    public RefTensor[] RefInputs() => Array.ConvertAll(Inputs, RefTensor.FromTensor);

    /// <summary>The same sample with other input tensors (moved to a device, or converted for GradCheck).</summary>
    public SampleInput WithInputs(Tensor[] inputs) => new(Description, inputs) { Ints = Ints, KeepDim = KeepDim, NotDifferentiableReason = NotDifferentiableReason };

    /// <inheritdoc />
    public override string ToString() => Description;
}
