namespace NeuralCore.Backends.Cpu.Kernels;

/// <summary>A piece of elementwise work over a range of indices (elements of a dense run, or rows of a strided loop).</summary>
internal interface IRangeJob
{
    /// <summary>Computes indices [start, end); must not depend on which thread runs it.</summary>
    void Run(int start, int end);
}

/// <summary>
/// Splits elementwise work across the CPU workers. Small work runs on the calling thread with no dispatch
/// at all; large work is cut into fixed blocks, and threads claim chunks of whole blocks (or rows) through
/// <see cref="CpuParallel.For{TState}(int, long, TState, Action{int, TState})"/>, so a worker that wakes late
/// only takes what the caller has not reached yet. Every element is still computed by the same scalar or
/// SIMD code, so results do not depend on the thread count.
/// </summary>
internal static class ElementwiseSplit
{
    /// <summary>
    /// Below this many elements one thread finishes before a second one would help: waking a worker costs a
    /// few microseconds, about what one core needs for 64K float adds from cache.
    /// </summary>
    public const int ParallelElements = 1 << 16;

    /// <summary>
    /// Dense runs are handed to the SIMD kernels in blocks of this many elements (64 KiB of float32). A block
    /// stays under the size where TensorPrimitives switches to non-temporal stores, so results of tensors that
    /// fit in the cache stay in the cache for the next op.
    /// </summary>
    public const int Block = 1 << 14;

    /// <summary>
    /// Above this many bytes per operand a tensor cannot stay in the cache anyway, so it goes to the kernels in
    /// blocks of <see cref="StreamingBlock"/> elements, large enough for TensorPrimitives to stream the output
    /// with non-temporal stores.
    /// </summary>
    public const long StreamingBytes = 16L << 20;

    /// <summary>Block length for tensors over <see cref="StreamingBytes"/>.</summary>
    public const int StreamingBlock = 1 << 20;

    /// <summary>
    /// Runs <paramref name="job"/> over [0, <paramref name="count"/>) dense elements of
    /// <paramref name="elementSize"/> bytes. Block boundaries depend only on the count and element size, so
    /// every element takes the same code path (vector body or remainder) for any thread count.
    /// </summary>
    public static void Dense<TJob>(int count, int elementSize, TJob job) where TJob : struct, IRangeJob
    {
        int block = (long)count * elementSize > StreamingBytes ? StreamingBlock : Block;
        if (count < ParallelElements || CpuParallel.MaxDegreeOfParallelism == 1)
        {
            RunBlocks(0, count, block, ref job);
            return;
        }
        int blocks = (int)(((long)count + block - 1) / block);
        int blocksPerChunk = BlocksPerChunk(blocks);
        int chunks = (blocks + blocksPerChunk - 1) / blocksPerChunk;
        var state = new DenseState<TJob>(job, count, block, blocksPerChunk);
        CpuParallel.For(chunks, (long)block * blocksPerChunk, state, static (c, s) =>
        {
            var j = s.Job;
            long first = (long)c * s.BlocksPerChunk * s.Block;
            RunBlocks((int)first, (int)Math.Min(first + (long)s.BlocksPerChunk * s.Block, s.Count), s.Block, ref j);
        });
    }

    /// <summary>
    /// Blocks per claimed chunk: about <see cref="ChunksPerThread"/> chunks per thread, so a thread that starts
    /// late still finds work and the caller never waits long for the last chunk, while the shared claim
    /// counter is touched only a few dozen times. Chunks are whole blocks, so the kernel calls (and results)
    /// are the same for any chunk size.
    /// </summary>
    static int BlocksPerChunk(int blocks) =>
        Math.Max(1, blocks / (ChunksPerThread * CpuParallel.MaxDegreeOfParallelism));

    /// <summary>Target number of claimed chunks per participating thread.</summary>
    const int ChunksPerThread = 8;

    /// <summary>Runs <paramref name="job"/> over <paramref name="rows"/> rows of <paramref name="rowLength"/> elements each.</summary>
    public static void Rows<TJob>(int rows, int rowLength, TJob job) where TJob : struct, IRangeJob
    {
        if ((long)rows * rowLength < ParallelElements || rows == 1 || CpuParallel.MaxDegreeOfParallelism == 1)
        {
            job.Run(0, rows);
            return;
        }
        int rowsPerChunk = Math.Max(1, rows / (ChunksPerThread * CpuParallel.MaxDegreeOfParallelism));
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        CpuParallel.For(chunks, (long)Math.Max(rowLength, 1) * rowsPerChunk, new RowsState<TJob>(job, rows, rowsPerChunk), static (c, s) =>
        {
            int first = c * s.RowsPerChunk;
            s.Job.Run(first, Math.Min(first + s.RowsPerChunk, s.Rows));
        });
    }

    static void RunBlocks<TJob>(int start, int end, int block, ref TJob job) where TJob : struct, IRangeJob
    {
        for (int i = start; i < end; i += block) job.Run(i, Math.Min(i + block, end));
    }

    readonly struct DenseState<TJob>(TJob job, int count, int block, int blocksPerChunk) where TJob : struct, IRangeJob
    {
        public TJob Job { get; } = job;
        public int Count { get; } = count;
        public int Block { get; } = block;
        public int BlocksPerChunk { get; } = blocksPerChunk;
    }

    readonly struct RowsState<TJob>(TJob job, int rows, int rowsPerChunk) where TJob : struct, IRangeJob
    {
        public TJob Job { get; } = job;
        public int Rows { get; } = rows;
        public int RowsPerChunk { get; } = rowsPerChunk;
    }
}
