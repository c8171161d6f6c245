using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Training.Losses;

/// <summary>
/// Binary cross-entropy on logits or on probabilities; targets 0/1 with the prediction's element count. An
/// unresolved input kind (null) means logits until <see cref="ResolveFor"/> decides it from a model.
/// </summary>
internal sealed class BinaryCrossentropyLoss(string name, bool? fromLogits) : Loss(name)
{
    bool FromLogits => fromLogits ?? true;

    public override Tensor Compute(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        target = TargetLayout.LikePrediction(prediction, target);
        return FromLogits ? F.BinaryCrossEntropyWithLogits(prediction, target) : F.BinaryCrossEntropy(prediction, target);
    }

    public override Tensor Activate(Tensor output) => FromLogits ? output.Sigmoid() : output;

    internal override Loss ResolveFor(Module model) =>
        fromLogits is not null ? this : new BinaryCrossentropyLoss(Name, !ModelHead.EndsInSigmoid(model));
}
