namespace NeuralCore.Compression.Pruning;

/// <summary>The output channels (Conv2d) or neurons (Linear, Dense) of one layer that structured pruning keeps.</summary>
/// <param name="Index">The layer's position in the <see cref="Nn.Sequential"/>.</param>
/// <param name="LayerType">Linear, Dense or Conv2d.</param>
/// <param name="Channels">Its output channels before pruning.</param>
/// <param name="Kept">The kept channels' indices, ascending.</param>
/// <param name="Norms">Every channel's norm, by which the smallest were pruned.</param>
public sealed record ChannelSelection(int Index, string LayerType, int Channels, IReadOnlyList<int> Kept, IReadOnlyList<double> Norms)
{
    /// <summary>How many channels are pruned.</summary>
    public int Pruned => Channels - Kept.Count;
}
