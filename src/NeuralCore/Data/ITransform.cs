namespace NeuralCore.Data;

/// <summary>
/// A function applied to one dataset item (typically a [C, H, W] image), as torchvision's transforms.
/// </summary>
/// <remarks>
/// Implementations must not modify their input: datasets hand out views of their own storage. Random
/// transforms draw from <see cref="TransformContext.Generator"/>, which a <see cref="DataLoader"/> sets to a
/// per-item generator so that augmented batches are reproducible whatever the number of workers.
/// </remarks>
public interface ITransform
{
    /// <summary>Transforms <paramref name="input"/> and returns the result (a new tensor, or the input unchanged).</summary>
    /// <param name="input">The item to transform; never modified.</param>
    /// <returns>The transformed item.</returns>
    Tensor Apply(Tensor input);
}
