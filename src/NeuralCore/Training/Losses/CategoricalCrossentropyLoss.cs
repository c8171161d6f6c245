using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Training.Losses;

/// <summary>
/// Categorical cross-entropy over dimension 1, on logits or on probabilities, with class-index or one-hot
/// targets. An unresolved input kind (null) means logits until <see cref="ResolveFor"/> decides it from a model.
/// </summary>
internal sealed class CategoricalCrossentropyLoss : Loss
{
    // Keras clips probabilities to [eps, 1 - eps] before the log, so a confident wrong answer costs ~16, not infinity.
    const double ProbabilityEpsilon = 1e-7;
    readonly bool? fromLogits;
    readonly double labelSmoothing;
    readonly bool sparse;

    public CategoricalCrossentropyLoss(string name, bool? fromLogits, double labelSmoothing, bool sparse) : base(name)
    {
        if (labelSmoothing is < 0 or > 1 || double.IsNaN(labelSmoothing))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must lie in [0, 1].");
        this.fromLogits = fromLogits;
        this.labelSmoothing = labelSmoothing;
        this.sparse = sparse;
    }

    bool FromLogits => fromLogits ?? true;

    public override Tensor Compute(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        bool isIndex = TargetLayout.IsClassIndex(prediction, target, Name);
        if (sparse && !isIndex)
            throw new ArgumentException(
                $"{Name}: targets must be class indices of shape [N]; got {target.Shape} for predictions {prediction.Shape}. Use categorical_crossentropy for one-hot targets.");
        target = isIndex ? TargetLayout.AsIndices(target) : target.To(prediction.DType);
        if (FromLogits) return F.CrossEntropy(prediction, target, labelSmoothing: labelSmoothing);

        var logProbabilities = prediction.Clamp(ProbabilityEpsilon, 1 - ProbabilityEpsilon).Log();
        if (isIndex && labelSmoothing == 0)
            return -logProbabilities.Gather(1, target.Unsqueeze(1)).Mean();
        long classes = prediction.Shape[1];
        var distribution = isIndex ? OneHot(target, prediction) : target;
        if (labelSmoothing > 0) distribution = distribution * (1 - labelSmoothing) + labelSmoothing / classes;
        return -(distribution * logProbabilities).Sum(1).Mean();
    }

    static Tensor OneHot(Tensor indices, Tensor prediction)
    {
        var oneHot = TargetLayout.OneHot(indices, prediction.Shape[1], prediction.DType);
        // Class dimension is 1; extra trailing dimensions (per-pixel classes) follow it in the prediction.
        return prediction.Dim == 2 ? oneHot : oneHot.Permute([0, oneHot.Dim - 1, .. Enumerable.Range(1, oneHot.Dim - 2)]);
    }

    public override Tensor Activate(Tensor output) => FromLogits ? output.Softmax(1) : output;

    internal override Loss ResolveFor(Module model) =>
        fromLogits is not null ? this : new CategoricalCrossentropyLoss(Name, !ModelHead.EndsInSoftmax(model), labelSmoothing, sparse);
}
