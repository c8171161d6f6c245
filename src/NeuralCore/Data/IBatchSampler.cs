namespace NeuralCore.Data;

/// <summary>
/// Chooses the batches of one epoch for a <see cref="DataLoader"/>, as PyTorch's <c>batch_sampler</c>: lists of
/// dataset indices, of any sizes (an empty list is an empty batch).
/// </summary>
public interface IBatchSampler
{
    /// <summary>The batches of one epoch over a dataset of <paramref name="count"/> items, drawn from <paramref name="generator"/>.</summary>
    /// <param name="count">Items in the dataset.</param>
    /// <param name="generator">Source of randomness (the loader's).</param>
    IEnumerable<int[]> Sample(int count, Generator generator);

    /// <summary>How many batches <see cref="Sample"/> returns for <paramref name="count"/> items.</summary>
    int BatchesPerEpoch(int count);

    /// <summary>The expected number of items per batch.</summary>
    int ExpectedBatchSize(int count);
}
