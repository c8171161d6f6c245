namespace NeuralCore.Nn;

/// <summary>Flattens dimensions startDim..endDim (from dimension 1 by default, as <c>nn.Flatten</c>).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <summary>First dimension flattened.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>Last dimension flattened.</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Flatten(StartDim, EndDim);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"startDim: {StartDim}, endDim: {EndDim}";
}
