namespace NeuralCore.Compression.Pruning;

/// <summary>The norm by which <see cref="StructuredPruner"/> ranks output channels (smallest pruned first).</summary>
public enum ChannelNorm
{
    /// <summary>Sum of the absolute weights of the channel (or neuron).</summary>
    L1,

    /// <summary>Euclidean norm of the channel's weights.</summary>
    L2,
}
