using NeuralCore.Training;

namespace NeuralCore.Compression.Pruning;

/// <summary>
/// Applies <see cref="WeightShrinkage"/> to the model's Linear and Conv2d weights after every optimizer step of
/// <c>Fit</c> (proximal gradient descent on an L1 penalty). With <see cref="ScaleWithLearningRate"/> the step's
/// shrinkage is λ·η for the optimizer's current learning rate η, so λ acts as the L1 strength α of a proximal step.
/// </summary>
public sealed class WeightShrinkageCallback : Callback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="lambda">The shrinkage per step (or the L1 strength when scaled by the learning rate).</param>
    /// <param name="scaleWithLearningRate">Multiply <paramref name="lambda"/> by the current learning rate at each step.</param>
    /// <param name="include">Shrinks only the layers whose dotted name this accepts; null shrinks all.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is negative or not finite.</exception>
    public WeightShrinkageCallback(double lambda, bool scaleWithLearningRate = false, Func<string, bool>? include = null)
    {
        WeightShrinkage.CheckLambda(lambda);
        Lambda = lambda;
        ScaleWithLearningRate = scaleWithLearningRate;
        Include = include;
    }

    /// <summary>λ.</summary>
    public double Lambda { get; }

    /// <summary>Whether λ is multiplied by the learning rate.</summary>
    public bool ScaleWithLearningRate { get; }

    /// <summary>The layer filter, or null for all layers.</summary>
    public Func<string, bool>? Include { get; }

    /// <inheritdoc />
    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) =>
        WeightShrinkage.Apply(Model, ScaleWithLearningRate ? Lambda * Optimizer.Lr : Lambda, Include);
}
