namespace NeuralCore.Vision;

/// <summary>How pixels outside an image are filled when a crop extends past its border.</summary>
internal enum PaddingMode
{
    /// <summary>A constant fill value.</summary>
    Constant,
    /// <summary>The nearest border pixel (numpy/torch "edge", "replicate").</summary>
    Edge,
    /// <summary>Mirrored about the border pixel, which is not repeated: [c b | a b c | b a].</summary>
    Reflect,
}

/// <summary>Parsing and coordinate mapping for <see cref="PaddingMode"/>.</summary>
internal static class PaddingModes
{
    internal static PaddingMode Parse(string paddingMode) => paddingMode switch
    {
        "constant" => PaddingMode.Constant,
        "edge" => PaddingMode.Edge,
        "reflect" => PaddingMode.Reflect,
        _ => throw new ArgumentException($"RandomCrop: paddingMode must be \"constant\", \"edge\" or \"reflect\", got \"{paddingMode}\".", nameof(paddingMode)),
    };

    /// <summary>
    /// The source index for coordinate <paramref name="i"/> of an axis of length <paramref name="n"/>, or -1
    /// when the pixel takes the constant fill.
    /// </summary>
    internal static int Map(int i, int n, PaddingMode mode)
    {
        if ((uint)i < (uint)n) return i;
        switch (mode)
        {
            case PaddingMode.Constant:
                return -1;
            case PaddingMode.Edge:
                return i < 0 ? 0 : n - 1;
            default:
                if (n == 1) return 0;
                // Reflection without repeating the border has period 2(n - 1).
                int period = 2 * (n - 1);
                int m = i % period;
                if (m < 0) m += period;
                return m < n ? m : period - m;
        }
    }
}
