namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: max pooling that writes only the pooled values, for passes that record no
/// gradient (inference, no-grad mode). Backends without it run <see cref="IBackend.MaxPool2d"/> and the argmax
/// indices are dropped at once.
/// </summary>
internal interface IMaxPoolValues
{
    /// <summary><see cref="IBackend.MaxPool2d"/> without the indices: input [N, C, H, W] → destination [N, C, OH, OW].</summary>
    void MaxPool2dValues(BufferView input, BufferView destination, Pool2dParams p);
}
