namespace NeuralCore.Autograd;

/// <summary>Computes the gradients of an op's inputs from the gradient of its output.</summary>
/// <param name="node">The recorded op: inputs, output and parameters.</param>
/// <param name="grad">Gradient of the loss with respect to the op's output.</param>
/// <returns>One gradient per input (null where an input needs none), each shaped like that input.</returns>
internal delegate Tensor?[] BackwardFn(Node node, Tensor grad);

/// <summary>A named backward rule; each op has exactly one, listed in <c>Autograd/Rules</c>.</summary>
internal sealed record BackwardRule(string Name, BackwardFn Fn);

/// <summary>One recorded op in the define-by-run graph.</summary>
internal sealed class Node
{
    Tensor[]? inputs;
    Tensor? output;

    public Node(BackwardRule rule, Tensor[] inputs)
    {
        Rule = rule;
        this.inputs = inputs;
    }

    public BackwardRule Rule { get; }

    /// <summary>The op's inputs, as they were when the op ran.</summary>
    public Tensor[] Inputs => inputs ?? throw new InvalidOperationException(
        $"Backward through {Rule.Name}Backward a second time: the graph was freed by the first Backward(). Pass retainGraph: true to keep it.");

    /// <summary>The op's output, detached (saved by rules that need it, e.g. Exp).</summary>
    public Tensor Output
    {
        get => output ?? throw new InvalidOperationException($"{Rule.Name}Backward: the output was not saved.");
        set => output = value;
    }

    /// <summary>Integer parameters of the op (dimensions, sizes).</summary>
    public int[] Ints { get; init; } = [];

    /// <summary>Scalar parameters of the op.</summary>
    public double A { get; init; }

    /// <summary>Second scalar parameter.</summary>
    public double B { get; init; }

    /// <summary>Any other saved state (e.g. index tensors).</summary>
    public Tensor? Saved { get; init; }

    public bool NeedsGrad(int input) => Inputs[input].RequiresGrad;

    public bool IsReleased => inputs is null;

    public void Release()
    {
        inputs = null;
        output = null;
    }
}
