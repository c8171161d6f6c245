namespace NeuralCore.Backends;

/// <summary>
/// The small set of primitive kernels a device must provide. Tensor operations, autograd rules and layers are
/// written on top of these, so a new backend only implements this interface and passes the conformance suite.
/// Every operand arrives as a <see cref="BufferView"/> (strided, possibly broadcast with stride 0); outputs
/// are views too, usually contiguous and freshly allocated by the caller. Kernels never read outside views.
/// </summary>
public interface IBackend
{
    /// <summary>The device this backend computes on.</summary>
    Device Device { get; }

    /// <summary>Short name, e.g. "cpu".</summary>
    string Name { get; }

    // ---- memory ----

    /// <summary>
    /// The most bytes one <see cref="Allocate"/> can provide. Callers check requests against it (and against
    /// <see cref="TensorLimits.MaxElements"/>) before allocating; see <see cref="TensorLimits"/>.
    /// </summary>
    long MaxAllocationBytes => long.MaxValue;

    /// <summary>Allocates uninitialised storage for <paramref name="length"/> elements.</summary>
    /// <exception cref="ArgumentException">The storage would exceed <see cref="MaxAllocationBytes"/>.</exception>
    Storage Allocate(DType dtype, int length);

    /// <summary>Copies host data (element type matching the storage dtype) into the start of a storage.</summary>
    void Upload<T>(ReadOnlySpan<T> source, Storage destination) where T : unmanaged;

    /// <summary>Reads a contiguous view back to the host; its dtype matches <typeparamref name="T"/>.</summary>
    void Download<T>(BufferView source, Span<T> destination) where T : unmanaged;

    /// <summary>dst = src elementwise, converting dtype when they differ (float→int truncates toward zero; any→Bool is "≠ 0").</summary>
    void Copy(BufferView source, BufferView destination);

    /// <summary>Sets every element of <paramref name="destination"/> to <paramref name="value"/>.</summary>
    void Fill(BufferView destination, double value);

    // ---- elementwise ----

    /// <summary>dst = op(x); <paramref name="a"/> and <paramref name="b"/> are the op's scalar parameters.</summary>
    void Unary(UnaryOp op, BufferView x, BufferView destination, double a = 0, double b = 0);

    /// <summary>dst = op(x, y); x, y and dst share a dtype except comparisons, whose dst is Bool.</summary>
    void Binary(BinaryOp op, BufferView x, BufferView y, BufferView destination);

    /// <summary>dst = cond ? x : y, with a Bool condition.</summary>
    void Where(BufferView condition, BufferView x, BufferView y, BufferView destination);

    // ---- reductions ----

    /// <summary>
    /// Reduces the trailing <paramref name="reducedRank"/> dimensions of <paramref name="x"/>; dst holds one
    /// value per combination of the leading dimensions (Int64 indices for ArgMax/ArgMin, flat over the
    /// reduced dimensions). Sum of an empty set is 0; Max/Min/ArgMax/ArgMin of an empty set is an error.
    /// </summary>
    void Reduce(ReduceOp op, BufferView x, int reducedRank, BufferView destination);

    // ---- linear algebra ----

    /// <summary>Batched matrix product: x [B, M, K] · y [B, K, N] → dst [B, M, N] (batch stride may be 0).</summary>
    void MatMul(BufferView x, BufferView y, BufferView destination);

    // ---- indexing ----

    /// <summary>dst = x with dimension <paramref name="dim"/> indexed by the Int64 vector <paramref name="index"/>.</summary>
    void IndexSelect(BufferView x, int dim, BufferView index, BufferView destination);

    /// <summary>dst[.., index[i], ..] += src[.., i, ..] along <paramref name="dim"/> (duplicates accumulate).</summary>
    void IndexAdd(BufferView destination, int dim, BufferView index, BufferView source);

    /// <summary>dst[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (and likewise for other dims).</summary>
    void Gather(BufferView x, int dim, BufferView index, BufferView destination);

    /// <summary>dst[i][index[i][j][k]][k] += src[i][j][k] for dim 1 (and likewise for other dims).</summary>
    void ScatterAdd(BufferView destination, int dim, BufferView index, BufferView source);

    // ---- random ----

    /// <summary>Fills a contiguous floating view with uniform samples in [low, high).</summary>
    void FillUniform(BufferView destination, Generator generator, double low, double high);

    /// <summary>Fills a contiguous floating view with normal samples.</summary>
    void FillNormal(BufferView destination, Generator generator, double mean, double std);

    /// <summary>Fills a contiguous view with 1 (probability p) or 0.</summary>
    void FillBernoulli(BufferView destination, Generator generator, double p);

    // ---- convolution and pooling (NCHW; floating dtypes; destinations contiguous and fully overwritten) ----

    /// <summary>
    /// 2-d cross-correlation: dst[n, o, y, x] = Σ input[n, c, y·s − p + i·d, x·s − p + j·d] · weight[o, c', i, j]
    /// over the taps and the channels c of o's group (zero outside the input). Input [N, C, H, W], weight
    /// [O, C/groups, kH, kW], dst [N, O, OH, OW]. Bias is not part of the kernel.
    /// </summary>
    void Conv2d(BufferView input, BufferView weight, BufferView destination, Conv2dParams p);

    /// <summary>
    /// Gradient of <see cref="Conv2d"/> with respect to its input (a transposed convolution): gradOutput
    /// [N, O, OH, OW], weight [O, C/groups, kH, kW] → gradInput [N, C, H, W], whose shape fixes H and W.
    /// </summary>
    void Conv2dBackwardInput(BufferView gradOutput, BufferView weight, BufferView gradInput, Conv2dParams p);

    /// <summary>
    /// Gradient of <see cref="Conv2d"/> with respect to its weight, summed over the batch: input [N, C, H, W],
    /// gradOutput [N, O, OH, OW] → gradWeight [O, C/groups, kH, kW], whose shape fixes the kernel size.
    /// </summary>
    void Conv2dBackwardWeight(BufferView input, BufferView gradOutput, BufferView gradWeight, Conv2dParams p);

    /// <summary>
    /// Max pooling: dst [N, C, OH, OW] holds each window's maximum (NaN wins) and <paramref name="indices"/>
    /// (Int64, same shape) its flat position h·W + w within the input plane; the first maximum wins ties.
    /// </summary>
    void MaxPool2d(BufferView input, BufferView destination, BufferView indices, Pool2dParams p);

    /// <summary>Gradient of <see cref="MaxPool2d"/>: gradInput (zeroed first) [n, c, idx] += gradOutput[n, c, oy, ox] with idx = indices[n, c, oy, ox].</summary>
    void MaxPool2dBackward(BufferView gradOutput, BufferView indices, BufferView gradInput, Pool2dParams p);

    /// <summary>Average pooling with the divisor chosen by <see cref="Pool2dParams.CountIncludePad"/>: input [N, C, H, W] → dst [N, C, OH, OW].</summary>
    void AvgPool2d(BufferView input, BufferView destination, Pool2dParams p);

    /// <summary>Gradient of <see cref="AvgPool2d"/>: each window spreads gradOutput / divisor over the input elements it covers.</summary>
    void AvgPool2dBackward(BufferView gradOutput, BufferView gradInput, Pool2dParams p);
}

/// <summary>Implemented by backends that can report <see cref="DeviceMemoryStats"/>.</summary>
public interface IMemoryStatsSource
{
    /// <summary>Current statistics.</summary>
    DeviceMemoryStats GetMemoryStats();
}
