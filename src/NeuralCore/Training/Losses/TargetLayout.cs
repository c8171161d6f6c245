namespace NeuralCore.Training.Losses;

/// <summary>Brings targets into the layout a loss or metric expects, as Keras does before comparing.</summary>
internal static class TargetLayout
{
    /// <summary>
    /// A floating target with the prediction's dtype and shape: integer targets are converted, and a target with
    /// the prediction's element count but another shape ([N] against [N, 1]) is reshaped.
    /// </summary>
    public static Tensor LikePrediction(Tensor prediction, Tensor target)
    {
        if (target.DType != prediction.DType) target = target.To(prediction.DType);
        if (target.Shape != prediction.Shape && target.NumElements == prediction.NumElements)
            target = target.Reshape(prediction.Shape.ToArray());
        return target;
    }

    /// <summary>
    /// True when <paramref name="target"/> holds class indices for <paramref name="prediction"/> (one dimension
    /// fewer: [N] against [N, C]); false when it holds a distribution per row (same shape).
    /// </summary>
    /// <exception cref="ArgumentException">Neither layout fits; the message names both shapes.</exception>
    public static bool IsClassIndex(Tensor prediction, Tensor target, string op)
    {
        if (prediction.Dim < 2)
            throw new ArgumentException($"{op}: predictions must be [N, C] (classes in dimension 1), got {prediction.Shape}.");
        if (target.Dim == prediction.Dim - 1) return true;
        if (target.Shape == prediction.Shape) return false;
        throw new ArgumentException(
            $"{op}: targets must be class indices of shape [N] or one-hot rows shaped like the predictions; predictions {prediction.Shape}, targets {target.Shape}.");
    }

    /// <summary>Class-index targets as Int64 (float labels such as 3.0 are converted).</summary>
    public static Tensor AsIndices(Tensor target) => target.DType == DType.Int64 ? target : target.To(DType.Int64);

    /// <summary>One-hot rows [N, C] in <paramref name="dtype"/> for Int64 class indices [N].</summary>
    public static Tensor OneHot(Tensor indices, long classes, DType dtype) =>
        Tensor.Arange(classes).To(indices.Device).Eq(indices.Unsqueeze(-1)).To(dtype);
}
