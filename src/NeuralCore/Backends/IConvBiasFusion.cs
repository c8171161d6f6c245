namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: convolution with the bias added while the output is written, and the bias
/// gradient as one per-channel reduction. Backends without it get the same results from
/// <see cref="IBackend.Conv2d"/> followed by a broadcast add, and from a sum over the batch and spatial axes.
/// </summary>
internal interface IConvBiasFusion
{
    /// <summary><see cref="IBackend.Conv2d"/> plus bias [O] added to every output position of channel o.</summary>
    void Conv2dBias(BufferView input, BufferView weight, BufferView bias, BufferView destination, Conv2dParams p);

    /// <summary>gradBias[o] = Σ over n, y, x of gradOutput[n, o, y, x]; gradOutput [N, O, OH, OW], gradBias [O] contiguous.</summary>
    void Conv2dBiasGrad(BufferView gradOutput, BufferView gradBias);
}
