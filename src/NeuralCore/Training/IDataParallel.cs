using NeuralCore.Nn;

namespace NeuralCore.Training;

/// <summary>
/// What <c>Fit</c> needs from a data-parallel training strategy (one process per replica, each training on its
/// own share of the data, gradients averaged across processes). The core package defines only this contract; the
/// <c>NeuralCore.Distributed</c> package implements it on MPI. Attach one with
/// <see cref="Sequential.UseDataParallel"/>: <c>Fit</c> then trains on this process's share of every epoch
/// (<c>batchSize</c> is per process, so the global batch is <c>batchSize × WorldSize</c>), averages the
/// epoch's logs over the processes, and reports progress and runs rank-zero-only callbacks
/// (<see cref="Callback.RankZeroOnly"/>, e.g. <see cref="ModelCheckpoint"/>) on rank 0 only.
/// </summary>
/// <remarks>
/// Every process must call <c>Fit</c> with the same arguments on a dataset of the same size; validation runs in full
/// on every process (the replicas hold the same parameters, so they measure the same values).
/// </remarks>
public interface IDataParallel
{
    /// <summary>This process's index, 0 to <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes training together.</summary>
    int WorldSize { get; }

    /// <summary>The replicated model.</summary>
    Module Module { get; }

    /// <summary>
    /// The indices of the samples this process trains on in <paramref name="epoch"/>, out of a dataset of
    /// <paramref name="count"/> samples; every process gets the same number.
    /// </summary>
    /// <param name="count">Samples in the training set.</param>
    /// <param name="epoch">0-based epoch (reshuffles each epoch).</param>
    /// <param name="shuffle">Whether the order is shuffled.</param>
    IReadOnlyList<int> EpochIndices(int count, int epoch, bool shuffle);

    /// <summary>Called before each training forward pass (e.g. to synchronize buffers); gradients of the following backward pass are averaged across processes by the time it returns.</summary>
    void BeforeForward();

    /// <summary>The element-wise mean of <paramref name="values"/> over all processes (every process passes the same length).</summary>
    /// <param name="values">This process's values.</param>
    double[] AverageAcrossRanks(double[] values);
}
