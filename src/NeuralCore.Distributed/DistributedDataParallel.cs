using System.Diagnostics;
using System.Numerics;
using NeuralCore.Nn;
using NeuralCore.Training;

namespace NeuralCore.Distributed;

/// <summary>
/// Data-parallel training of one model replicated in every rank, as PyTorch's <c>DistributedDataParallel</c>.
/// At start (and whenever the model gains parameters, e.g. a lazily built <see cref="Dense"/>) the parameters and
/// buffers are broadcast from rank 0. During each backward pass, gradients are averaged over the ranks in buckets of
/// about <see cref="BucketCapMB"/> MB: parameters are grouped in reverse order (the order backward produces their
/// gradients), and as soon as every gradient of a bucket is final (a post-accumulate gradient hook) the bucket is
/// flattened and its allreduce starts on the communication thread while backward continues. Buckets start in the
/// same order on every rank; when the pass ends, the remaining buckets start (parameters that got no gradient
/// contribute zeros) and the averaged gradients are written back before <c>Backward</c> returns. The optimizer then
/// sees the gradient of the mean loss over the global batch: any optimizer, parameter groups and L1/L2 penalties
/// work unchanged, since every rank applies the same update to the same parameters.
/// </summary>
/// <remarks>
/// Call <see cref="Forward"/> (or <see cref="BeforeForward"/> then the model) so that buffers (BatchNorm running
/// statistics) are broadcast from rank 0 before each forward pass; <see cref="Sequential.UseDataParallel"/> makes
/// <c>Fit</c> do so. Inside <see cref="NoSync"/> gradients accumulate locally; the first backward pass after it
/// averages the accumulated sum.
/// </remarks>
public sealed class DistributedDataParallel : IDataParallel, IDisposable
{
    readonly List<Tensor> parameters = [];
    readonly List<IDisposable> hooks = [];
    readonly Dictionary<Tensor, (int Bucket, int Slot)> where = new(ReferenceEqualityComparer.Instance);
    Bucket[] buckets = [];
    int nextLaunch;
    bool passActive;
    int noSyncDepth;
    bool disposed;

    /// <summary>Wraps <paramref name="module"/> and broadcasts its parameters and buffers from rank 0.</summary>
    /// <param name="module">The model; every rank builds the same architecture.</param>
    /// <param name="communicator">The ranks (e.g. <see cref="DistributedEnvironment.CreateCommunicator"/>).</param>
    /// <param name="bucketCapMB">Largest bucket in MB (1 MB = 2^20 bytes); a parameter larger than it gets a bucket of its own.</param>
    /// <param name="broadcastBuffers">Broadcast buffers from rank 0 before every forward pass.</param>
    /// <param name="samplerSeed">Seed of the <see cref="DistributedSampler"/> that <c>Fit</c> uses.</param>
    /// <param name="dropLast">Whether <c>Fit</c>'s sampler drops the uneven tail of the data instead of padding.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bucketCapMB"/> is not positive.</exception>
    public DistributedDataParallel(Module module, ICommunicator communicator, double bucketCapMB = 25, bool broadcastBuffers = true,
        int samplerSeed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(communicator);
        if (!(bucketCapMB > 0)) throw new ArgumentOutOfRangeException(nameof(bucketCapMB), bucketCapMB, "DistributedDataParallel: the bucket size must be positive.");
        Module = module;
        Communicator = communicator;
        BucketCapMB = bucketCapMB;
        BroadcastBuffers = broadcastBuffers;
        SamplerSeed = samplerSeed;
        DropLast = dropLast;
        Prepare();
    }

    /// <inheritdoc />
    public Module Module { get; }

    /// <summary>The ranks.</summary>
    public ICommunicator Communicator { get; }

    /// <inheritdoc />
    public int Rank => Communicator.Rank;

    /// <inheritdoc />
    public int WorldSize => Communicator.WorldSize;

    /// <summary>Largest bucket in MB.</summary>
    public double BucketCapMB { get; }

    /// <summary>Whether buffers are broadcast from rank 0 before every forward pass.</summary>
    public bool BroadcastBuffers { get; }

    /// <summary>Seed of <c>Fit</c>'s sampler.</summary>
    public int SamplerSeed { get; }

    /// <summary>Whether <c>Fit</c>'s sampler drops the uneven tail.</summary>
    public bool DropLast { get; }

    /// <summary>Number of gradient buckets.</summary>
    public int BucketCount => buckets.Length;

    /// <summary>How long the last backward pass waited, after its last gradient, for averaging to finish (the communication that backward did not hide).</summary>
    public TimeSpan LastSyncWait { get; private set; }

    /// <summary>Broadcasts buffers (when <see cref="BroadcastBuffers"/>) and runs the model.</summary>
    /// <param name="x">The input batch of this rank.</param>
    public Tensor Forward(Tensor x)
    {
        BeforeForward();
        return Module.Forward(x);
    }

    /// <inheritdoc />
    public void BeforeForward()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Prepare();
        if (BroadcastBuffers && WorldSize > 1)
            foreach (var (_, buffer) in Module.NamedBuffers()) Communicator.Broadcast(buffer, 0);
    }

    /// <summary>Until the handle is disposed, backward passes accumulate gradients locally without averaging (gradient accumulation); the next pass after it averages the sum.</summary>
    public IDisposable NoSync()
    {
        noSyncDepth++;
        return new NoSyncScope(this);
    }

    sealed class NoSyncScope(DistributedDataParallel owner) : IDisposable
    {
        bool done;

        public void Dispose()
        {
            if (done) return;
            done = true;
            owner.noSyncDepth--;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> EpochIndices(int count, int epoch, bool shuffle) =>
        new DistributedSampler(count, WorldSize, Rank, shuffle, SamplerSeed, DropLast).Indices(epoch);

    /// <inheritdoc />
    public double[] AverageAcrossRanks(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var copy = (double[])values.Clone();
        Communicator.AllReduceAsync(copy, ReduceOp.Mean).GetAwaiter().GetResult();
        return copy;
    }

    // (Re)builds the buckets when the trainable parameters changed, after broadcasting the model from rank 0.
    void Prepare()
    {
        var current = Module.Parameters().Where(p => p.RequiresGrad).ToList();
        if (current.Count == parameters.Count && current.Zip(parameters).All(t => ReferenceEquals(t.First, t.Second))) return;
        foreach (var h in hooks) h.Dispose();
        hooks.Clear();
        where.Clear();
        parameters.Clear();
        parameters.AddRange(current);
        if (WorldSize > 1)
        {
            foreach (var p in Module.Parameters()) Communicator.Broadcast(p, 0);
            foreach (var (_, b) in Module.NamedBuffers()) Communicator.Broadcast(b, 0);
        }
        buckets = BuildBuckets(current, (long)(BucketCapMB * (1 << 20)));
        for (int b = 0; b < buckets.Length; b++)
            for (int s = 0; s < buckets[b].Params.Length; s++)
                where[buckets[b].Params[s]] = (b, s);
        foreach (var p in current) hooks.Add(p.RegisterPostAccumulateGradHook(OnGradient));
        nextLaunch = 0;
        passActive = false;
    }

    static Bucket[] BuildBuckets(List<Tensor> ps, long capBytes)
    {
        var result = new List<Bucket>();
        var open = new Dictionary<(DType, Device), List<Tensor>>();
        var bytes = new Dictionary<(DType, Device), long>();
        for (int i = ps.Count - 1; i >= 0; i--)
        {
            var p = ps[i];
            if (p.DType is not (DType.Float32 or DType.Float64))
                throw new ArgumentException($"DistributedDataParallel: parameter {i} has dtype {p.DType}; gradients are averaged for Float32 and Float64 parameters.");
            var key = (p.DType, p.Device);
            long size = p.NumElements * (p.DType == DType.Float32 ? 4 : 8);
            if (!open.TryGetValue(key, out var list) || (list.Count > 0 && bytes[key] + size > capBytes))
            {
                if (list is { Count: > 0 }) result.Add(Bucket.Create(list));
                list = [];
                open[key] = list;
                bytes[key] = 0;
            }
            list.Add(p);
            bytes[key] += size;
        }
        foreach (var list in open.Values)
            if (list.Count > 0) result.Add(Bucket.Create(list));
        return result.ToArray();
    }

    void OnGradient(Tensor p)
    {
        if (noSyncDepth > 0 || WorldSize == 1 || !where.TryGetValue(p, out var at)) return;
        if (!passActive)
        {
            passActive = true;
            Tensor.QueueBackwardCallback(FinishPass);
        }
        var bucket = buckets[at.Bucket];
        if (bucket.Ready[at.Slot]) return;
        bucket.Ready[at.Slot] = true;
        bucket.ReadyCount++;
        LaunchReady();
    }

    // Buckets start strictly in index order, so every rank issues the same sequence of collectives.
    void LaunchReady()
    {
        while (nextLaunch < buckets.Length && buckets[nextLaunch].ReadyCount == buckets[nextLaunch].Params.Length)
            buckets[nextLaunch++].Launch(Communicator);
    }

    void FinishPass()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            foreach (var b in buckets)
            {
                for (int s = 0; s < b.Ready.Length; s++) b.Ready[s] = true;
                b.ReadyCount = b.Params.Length;
            }
            LaunchReady();
            foreach (var b in buckets) b.Finish();
        }
        finally
        {
            foreach (var b in buckets) b.Reset();
            nextLaunch = 0;
            passActive = false;
            LastSyncWait = clock.Elapsed;
        }
    }

    /// <summary>Removes the gradient hooks; the model keeps training locally afterwards.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var h in hooks) h.Dispose();
        hooks.Clear();
    }

    abstract class Bucket
    {
        public required Tensor[] Params { get; init; }

        public bool[] Ready = [];

        public int ReadyCount;

        public static Bucket Create(List<Tensor> ps)
        {
            var array = ps.ToArray();
            Bucket b = array[0].DType == DType.Float32 ? new Bucket<float> { Params = array } : new Bucket<double> { Params = array };
            b.Ready = new bool[array.Length];
            return b;
        }

        public abstract void Launch(ICommunicator communicator);

        public abstract void Finish();

        public void Reset()
        {
            Array.Clear(Ready);
            ReadyCount = 0;
            Clear();
        }

        protected abstract void Clear();
    }

    sealed class Bucket<T> : Bucket where T : unmanaged, INumber<T>
    {
        T[]? flat;
        Task? inFlight;

        public override void Launch(ICommunicator communicator)
        {
            long total = Params.Sum(p => p.NumElements);
            flat ??= new T[total];
            int offset = 0;
            foreach (var p in Params)
            {
                int n = (int)p.NumElements;
                if (p.Grad is { } g) g.ToArray<T>().CopyTo(flat, offset);
                else Array.Clear(flat, offset, n);
                offset += n;
            }
            inFlight = communicator.AllReduceAsync(flat, ReduceOp.Mean);
        }

        public override void Finish()
        {
            if (inFlight is null || flat is null) return;
            inFlight.GetAwaiter().GetResult();
            int offset = 0;
            foreach (var p in Params)
            {
                int n = (int)p.NumElements;
                var averaged = TensorCollectives.FromHost(flat.AsSpan(offset, n).ToArray(), p.Shape.ToArray(), p.Device);
                if (p.Grad is { } g) g.Copy_(averaged);
                else p.Grad = averaged.DetachFromScope();
                offset += n;
            }
        }

        protected override void Clear() => inFlight = null;
    }
}
