using System.Numerics;

namespace NeuralCore.Distributed;

/// <summary>
/// Collective communication among <see cref="WorldSize"/> ranks, on host arrays. Every rank must call the same
/// collectives in the same order with matching lengths. Collectives run in call order on one communication thread
/// per rank; the <c>…Async</c> forms return at once, so computation continues while data moves (the buffers must
/// not be touched until the task completes). A collective that has not completed after <see cref="Timeout"/> ends
/// the job (MPI) or throws <see cref="CollectiveTimeoutException"/> (in-process ranks). Tensor forms are extension
/// methods in <see cref="TensorCollectives"/>. Supported element types: <see cref="float"/>, <see cref="double"/>,
/// <see cref="int"/>, <see cref="long"/>.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This rank's index, 0 to <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>How long a collective may take before the job is ended.</summary>
    TimeSpan Timeout { get; }

    /// <summary>Starts an in-place allreduce: afterwards every rank's <paramref name="buffer"/> holds the reduction of all ranks' buffers.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="buffer">Input and output; the same length on every rank.</param>
    /// <param name="op">How values combine.</param>
    /// <returns>Completes when the result is in <paramref name="buffer"/>.</returns>
    /// <exception cref="ArgumentException">An unsupported element type, or <see cref="ReduceOp.Mean"/> on an integer type.</exception>
    Task AllReduceAsync<T>(T[] buffer, ReduceOp op = ReduceOp.Sum) where T : unmanaged, INumber<T>;

    /// <summary>Starts a broadcast: afterwards every rank's <paramref name="buffer"/> holds rank <paramref name="root"/>'s.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="buffer">Source on the root, destination elsewhere; the same length on every rank.</param>
    /// <param name="root">The rank whose data is sent.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="root"/> is not a rank.</exception>
    Task BroadcastAsync<T>(T[] buffer, int root = 0) where T : unmanaged, INumber<T>;

    /// <summary>Starts an allgather: afterwards <paramref name="receive"/> holds every rank's <paramref name="send"/>, in rank order.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="send">This rank's block; the same length on every rank.</param>
    /// <param name="receive">Length <c>send.Length × WorldSize</c>.</param>
    /// <exception cref="ArgumentException">The lengths do not match.</exception>
    Task AllGatherAsync<T>(T[] send, T[] receive) where T : unmanaged, INumber<T>;

    /// <summary>Starts a reduce-scatter: the element-wise reduction of all ranks' <paramref name="send"/> is cut into <see cref="WorldSize"/> equal blocks and rank r receives block r.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="send">Length <c>receive.Length × WorldSize</c>.</param>
    /// <param name="receive">This rank's block of the result.</param>
    /// <param name="op">How values combine.</param>
    /// <exception cref="ArgumentException">The lengths do not match, or <see cref="ReduceOp.Mean"/> on an integer type.</exception>
    Task ReduceScatterAsync<T>(T[] send, T[] receive, ReduceOp op = ReduceOp.Sum) where T : unmanaged, INumber<T>;

    /// <summary>Starts a barrier: completes once every rank has reached it.</summary>
    Task BarrierAsync();
}
