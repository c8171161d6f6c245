namespace NeuralCore.Vision;

/// <summary>How geometric transforms sample the source image between pixel centres.</summary>
internal enum Interpolation
{
    /// <summary>The nearest source pixel.</summary>
    Nearest,

    /// <summary>Bilinear weighting of the four surrounding source pixels.</summary>
    Bilinear,
}

/// <summary>Parses the interpolation names accepted by the transform factories.</summary>
internal static class Interpolations
{
    /// <summary>"nearest" or "bilinear" (case-insensitive), or an error naming <paramref name="op"/>.</summary>
    internal static Interpolation Parse(string name, string op)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "nearest" => Interpolation.Nearest,
            "bilinear" => Interpolation.Bilinear,
            _ => throw new ArgumentException($"{op}: unknown interpolation \"{name}\"; expected \"nearest\" or \"bilinear\".", nameof(name)),
        };
    }
}
