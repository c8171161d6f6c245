namespace NeuralCore.Explain;

/// <summary>How <see cref="Heatmap"/> draws an attribution map.</summary>
public sealed record HeatmapOptions
{
    /// <summary>
    /// Signed attributions use a diverging blue–white–red map (negative blue, positive red, symmetric around 0);
    /// unsigned ones a black–purple–orange–yellow map of magnitude. Null (the default) picks signed when the map has negative values.
    /// </summary>
    public bool? Signed { get; init; }

    /// <summary>Opacity of the heatmap over the image at the strongest attribution (0 … 1); weaker values blend in less.</summary>
    public double Alpha { get; init; } = 0.7;

    /// <summary>The percentile of |attribution| that maps to full colour (larger values saturate), in (0, 100].</summary>
    public double ClipPercentile { get; init; } = 99.5;

    /// <summary>Small maps are enlarged by a whole factor (nearest neighbour) until the longer side reaches this many pixels.</summary>
    public int MinSize { get; init; } = 224;
}
