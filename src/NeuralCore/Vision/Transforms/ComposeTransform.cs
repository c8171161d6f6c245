using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>Applies transforms one after another.</summary>
internal sealed class ComposeTransform : ITransform
{
    readonly ITransform[] transforms;

    internal ComposeTransform(ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        for (int i = 0; i < transforms.Length; i++)
            if (transforms[i] is null) throw new ArgumentNullException(nameof(transforms), $"Compose: transform {i} is null.");
        this.transforms = (ITransform[])transforms.Clone();
    }

    public Tensor Apply(Tensor input)
    {
        foreach (var t in transforms) input = t.Apply(input);
        return input;
    }

    public override string ToString() => $"Compose({string.Join(", ", transforms.Select(t => t.ToString()))})";
}
