namespace NeuralCore.Testing;

/// <summary>
/// One layer, loss or optimizer check of the conformance suite: <see cref="Run"/> builds everything from fixed
/// seeds on the CPU, moves what it computes with to the given device, and returns named results (outputs,
/// gradients, updated parameters). The suite runs it on the reference and on the device under test and compares
/// every result within <see cref="Tolerance"/>.
/// </summary>
/// <param name="Name">Short unique name, e.g. <c>conv2d/stride2-dilation2</c>.</param>
/// <param name="Run">Computes the results on a device.</param>
/// <param name="Tolerance">How far the device may be from the reference.</param>
public sealed record ConformanceCase(string Name, Func<Device, IReadOnlyList<(string Label, Tensor Value)>> Run, Tolerance Tolerance)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}
