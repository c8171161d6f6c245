using NeuralCore.Training.Losses;

namespace NeuralCore.Training;

/// <summary>
/// Running mean of an elementwise error over every prediction element, kept in double precision. Class-index
/// targets of multi-class predictions count as one-hot rows.
/// </summary>
internal sealed class ErrorAccumulator
{
    readonly DeviceSum sum = new();
    long count;

    /// <summary>The running sum of errors on the device.</summary>
    public DeviceSum Sum => sum;

    public double Mean => count == 0 ? double.NaN : sum.Read() / count;

    public void Reset()
    {
        sum.Reset();
        count = 0;
    }

    public void Add(Tensor prediction, Tensor target, Func<Tensor, Tensor> error)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        using var noGrad = Tensor.NoGrad();
        // Class-index targets of multi-class predictions are compared as one-hot rows, as Keras' one-hot labels.
        if (prediction.Dim >= 2 && prediction.Shape[1] > 1 && target.Dim == prediction.Dim - 1 && target.NumElements != prediction.NumElements)
            target = TargetLayout.OneHot(TargetLayout.AsIndices(target), prediction.Shape[1], prediction.DType);
        var aligned = TargetLayout.LikePrediction(prediction, target);
        sum.Add(error(prediction.To(DType.Float64) - aligned.To(DType.Float64)).Sum());
        count += prediction.NumElements;
    }
}
