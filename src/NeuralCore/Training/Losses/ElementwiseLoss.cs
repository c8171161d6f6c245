namespace NeuralCore.Training.Losses;

/// <summary>A loss given by a function of (prediction, target), such as mean squared error.</summary>
internal sealed class ElementwiseLoss(string name, Func<Tensor, Tensor, Tensor> compute, bool alignTarget = true) : Loss(name)
{
    public override Tensor Compute(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        return compute(prediction, alignTarget ? TargetLayout.LikePrediction(prediction, target) : target);
    }
}
