using NeuralCore.Nn;

namespace NeuralCore.Training.Losses;

/// <summary>Inspects a model's last layer to tell whether it outputs probabilities or logits.</summary>
internal static class ModelHead
{
    /// <summary>True when the last layer (looking inside nested <see cref="Sequential"/>s) applies a softmax.</summary>
    public static bool EndsInSoftmax(Module model) => Last(model) switch
    {
        Nn.Softmax => true,
        Dense d => d.ActivationFunction == Activation.Softmax,
        _ => false,
    };

    /// <summary>True when the last layer applies a logistic sigmoid.</summary>
    public static bool EndsInSigmoid(Module model) => Last(model) switch
    {
        Nn.Sigmoid => true,
        Dense d => d.ActivationFunction == Activation.Sigmoid,
        _ => false,
    };

    static Module Last(Module model)
    {
        while (model is Sequential { Count: > 0 } s) model = s[s.Count - 1];
        return model;
    }
}
