namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: a binary op between a tensor and a C# scalar, with the scalar passed by value
/// instead of as a 0-d tensor operand. Tensor-with-scalar arithmetic and comparisons (<c>x + 2.0</c>,
/// <c>x.Gt(0)</c>) use it when the scalar does not change the tensor's dtype and no gradient is recorded;
/// backends without it (and every other case) get a broadcast 0-d tensor through
/// <see cref="IBackend.Binary"/>, which computes the same values.
/// </summary>
internal interface IScalarBinary
{
    /// <summary>
    /// destination = op(x, s), or op(s, x) when <paramref name="scalarFirst"/>, where s is
    /// <paramref name="value"/> converted to x's dtype as <see cref="IBackend.Fill"/> converts it.
    /// <paramref name="destination"/> has x's shape and dtype (Bool for comparisons). Returns false, having
    /// written nothing, when the backend has no scalar path for these operands; the caller then uses a 0-d
    /// tensor.
    /// </summary>
    bool TryBinaryScalar(BinaryOp op, BufferView x, double value, bool scalarFirst, BufferView destination);
}
