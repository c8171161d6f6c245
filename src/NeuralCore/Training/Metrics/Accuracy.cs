using NeuralCore.Training.Losses;

namespace NeuralCore.Training;

/// <summary>
/// Fraction of correct predictions. Multi-class predictions [N, C] (C &gt; 1) are compared by arg-max with
/// class-index targets [N] or one-hot targets [N, C]; single-output predictions ([N] or [N, 1]) are binary:
/// a prediction above <see cref="Threshold"/> means class 1, and targets above 0.5 are class 1.
/// </summary>
public sealed class Accuracy : Metric
{
    readonly DeviceSum correct = new();
    long total;

    /// <summary>Creates the metric.</summary>
    /// <param name="name">Reported name.</param>
    /// <param name="threshold">Decision threshold for binary (single-output) predictions.</param>
    public Accuracy(string name = "accuracy", double threshold = 0.5) : base(name) => Threshold = threshold;

    /// <summary>Decision threshold for binary predictions.</summary>
    public double Threshold { get; }

    /// <inheritdoc />
    public override void Reset()
    {
        correct.Reset();
        total = 0;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The target layout fits neither the multi-class nor the binary case.</exception>
    public override void Update(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        using var noGrad = Tensor.NoGrad();
        Tensor predicted, expected;
        if (prediction.Dim >= 2 && prediction.Shape[1] > 1)
        {
            predicted = prediction.ArgMax(1);
            expected = TargetLayout.IsClassIndex(prediction, target, Name) ? TargetLayout.AsIndices(target) : target.ArgMax(1);
        }
        else
        {
            if (target.NumElements != prediction.NumElements)
                throw new ArgumentException($"{Name}: binary predictions {prediction.Shape} need one target per prediction, got {target.Shape}.");
            predicted = prediction.Gt(Threshold);
            expected = TargetLayout.LikePrediction(prediction, target).Gt(0.5);
        }
        correct.Add(predicted.Eq(expected).Sum());
        total += predicted.NumElements;
    }

    /// <inheritdoc />
    public override double Result => total == 0 ? double.NaN : correct.Read() / total;

    internal override IEnumerable<DeviceSum> Sums => [correct];

    /// <inheritdoc />
    public override Metric Clone() => new Accuracy(Name, Threshold);
}
