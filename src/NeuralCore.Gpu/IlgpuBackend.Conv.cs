using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Backends.Cpu;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

/// <summary>
/// Convolution as im2col + the GEMM kernels (1×1 convolutions with stride 1 and no padding skip im2col and multiply
/// the input in place), all on the device, per channel group over chunks of images:
/// forward Y[n, g] = W[g]·col[n]; input gradient col[n] = W[g]ᵀ·dY[n, g], then col2im; weight gradient
/// dW[g] = Σ_n dY[n, g]·col[n]ᵀ, summed inside the GEMM (its reduction index) and across chunks by accumulation.
/// The column buffer holds at most <see cref="MaxColumnElements"/> elements; larger batches run in chunks.
/// A bias is added by one elementwise pass over the output after the products (the GEMM kernels stay free of
/// epilogues); its gradient is the row reduction of gradOutput seen as [O, N, OH, OW], one thread group per channel.
/// </summary>
public sealed partial class IlgpuBackend : IConvBiasFusion
{
    const long MaxColumnElements = 1L << 24;

    /// <inheritdoc />
    public void Conv2d(BufferView input, BufferView weight, BufferView destination, Conv2dParams p)
    {
        var g = new ConvGeometry(input.Shape, weight.Shape, destination.Shape, p, nameof(Conv2d));
        RunConv(nameof(Conv2d), g, p, input, weight, destination, 0);
    }

    void IConvBiasFusion.Conv2dBias(BufferView input, BufferView weight, BufferView bias, BufferView destination, Conv2dParams p)
    {
        const string op = nameof(IConvBiasFusion.Conv2dBias);
        var g = new ConvGeometry(input.Shape, weight.Shape, destination.Shape, p, op);
        FusedOperandChecks.ConvBias(bias, g.O, input.DType);
        Own(bias.Storage, op);
        CountFused(op);
        RunConv(op, g, p, input, weight, destination, 0, bias);
    }

    void IConvBiasFusion.Conv2dBiasGrad(BufferView gradOutput, BufferView gradBias)
    {
        const string op = nameof(IConvBiasFusion.Conv2dBiasGrad);
        FusedOperandChecks.ConvBiasGrad(gradOutput, gradBias);
        CountFused(op);
        // gradOutput read in place as [O, N, OH, OW]: each channel is one row of the group-per-row reduction.
        int[] perm = [1, 0, 2, 3];
        var byChannel = gradOutput.With([.. perm.Select(d => gradOutput.Shape[d])], [.. perm.Select(d => gradOutput.Strides[d])]);
        Reduce(ReduceOp.Sum, byChannel, 3, gradBias);
    }

    /// <inheritdoc />
    public void Conv2dBackwardInput(BufferView gradOutput, BufferView weight, BufferView gradInput, Conv2dParams p)
    {
        var g = new ConvGeometry(gradInput.Shape, weight.Shape, gradOutput.Shape, p, nameof(Conv2dBackwardInput));
        RunConv(nameof(Conv2dBackwardInput), g, p, gradOutput, weight, gradInput, 1);
    }

    /// <inheritdoc />
    public void Conv2dBackwardWeight(BufferView input, BufferView gradOutput, BufferView gradWeight, Conv2dParams p)
    {
        var g = new ConvGeometry(input.Shape, gradWeight.Shape, gradOutput.Shape, p, nameof(Conv2dBackwardWeight));
        RunConv(nameof(Conv2dBackwardWeight), g, p, input, gradOutput, gradWeight, 2);
    }

    void RunConv(string op, in ConvGeometry g, Conv2dParams p, BufferView a, BufferView b, BufferView d, int kind, BufferView bias = default)
    {
        // The device kernels index input rows and columns in 32 bits: oy·stride − pad + ki·dilation and h + pad must fit.
        long reachH = (long)g.OH * p.StrideH + p.PadH + (long)g.KH * p.DilationH + g.H;
        long reachW = (long)g.OW * p.StrideW + p.PadW + (long)g.KW * p.DilationW + g.W;
        if (reachH > int.MaxValue || reachW > int.MaxValue)
            throw new ArgumentException($"{op}: {p} with kernel ({g.KH}, {g.KW}) on a {g.H}x{g.W} input reaches row/column {Math.Max(reachH, reachW)}, "
                + $"beyond the {int.MaxValue} the GPU convolution kernels can index.");
        if (a.DType != b.DType || a.DType != d.DType)
            throw new ArgumentException($"{op}: operands must share a dtype, got {a.DType}, {b.DType} and {d.DType}.");
        if (!d.IsContiguous) throw new ArgumentException($"{op}: the destination must be contiguous.");
        switch (a.DType)
        {
            case DType.Float32: RunConv<float, F32>(g, p, a, b, d, kind, bias); break;
            case DType.Float64: RunConv<double, F64>(g, p, a, b, d, kind, bias); break;
            default: throw new ArgumentException($"{op}: needs Float32 or Float64 operands, got {a.DType}.");
        }
    }

    // kind 0: forward (a = input, b = weight); 1: input gradient (a = gradOutput, b = weight);
    // 2: weight gradient (a = input, b = gradOutput). The destination is always written in full.
    // bias (kind 0 only, optional): [O], added to every output position of its channel.
    void RunConv<T, N>(ConvGeometry g, Conv2dParams p, BufferView a, BufferView b, BufferView d, int kind, BufferView bias)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var im2col = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ConvShape, Nchw>, Action<Index1D, ArrayView<T>, ArrayView<T>, ConvShape, Nchw>>(
            ConvKernels.Im2Col, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        var col2im = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ConvShape, int>, Action<Index1D, ArrayView<T>, ArrayView<T>, ConvShape, int>>(
            ConvKernels.Col2Im<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        Gemm<T, N>(d, d, d, default, 0);
        if (d.Count == 0) return;
        if (g.N == 0 || g.K == 0 || g.L == 0)
        {
            Fill(d, 0); // empty sums, plus the bias if there is one
            AddBias(bias, d);
            return;
        }

        // The GEMMs address the weight as [O, K] and gradOutput as [N, O, L]: both need dense trailing dimensions.
        // The input is read through its strides by im2col and needs no copy.
        Storage? aCopy = null, bCopy = null;
        try
        {
            if (kind == 1 && !a.IsContiguous) (a, aCopy) = Densify(a);
            if (!b.IsContiguous) (b, bCopy) = Densify(b);
            if (g.Pointwise && (kind == 1 || SpatialStride(a) is not null))
            {
                Pointwise<T, N>(g, a, b, d, kind);
                AddBias(bias, d);
                return;
            }
            var shape = new ConvShape
            {
                C = g.C, H = g.H, W = g.W, KH = g.KH, KW = g.KW, OH = g.OH, OW = g.OW,
                SH = p.StrideH, SW = p.StrideW, PH = p.PadH, PW = p.PadW, DH = p.DilationH, DW = p.DilationW,
                Cg = g.Cg, K = g.K, L = g.L,
            };
            int chunk = (int)Math.Clamp(MaxColumnElements / ((long)g.K * g.L), 1, g.N);
            var colStorage = Allocate(a.DType, checked(chunk * g.K * g.L));
            try
            {
                var col = BufferView.Contiguous(colStorage, [chunk * g.K * g.L]);
                var colView = View<T>(col);
                int kl = g.K * g.L, ol = g.O * g.L;
                for (int n0 = 0; n0 < g.N; n0 += chunk)
                {
                    int nb = Math.Min(chunk, g.N - n0);
                    for (int grp = 0; grp < g.G; grp++)
                    {
                        if (kind != 1)
                        {
                            var sx = new Nchw
                            {
                                Offset = a.Offset + n0 * a.Strides[0] + grp * g.Cg * a.Strides[1],
                                N = a.Strides[0], C = a.Strides[1], H = a.Strides[2], W = a.Strides[3],
                            };
                            im2col(nb * kl, View<T>(a), colView, shape, sx);
                            AfterLaunch();
                        }
                        if (kind == 0)
                        {
                            Gemm<T, N>(b, col, d, new GemmArgs
                            {
                                M = g.Og, N = g.L, K = g.K, Reduce = 1,
                                AOffset = b.Offset + grp * g.Og * g.K, ARow = g.K, AInner = 1,
                                BBatch = kl, BInner = g.L, BCol = 1,
                                COffset = d.Offset + n0 * ol + grp * g.Og * g.L, CBatch = ol, CRow = g.L, CCol = 1,
                            }, nb);
                        }
                        else if (kind == 1)
                        {
                            Gemm<T, N>(b, a, col, new GemmArgs
                            {
                                M = g.K, N = g.L, K = g.Og, Reduce = 1,
                                AOffset = b.Offset + grp * g.Og * g.K, ARow = 1, AInner = g.K,
                                BOffset = a.Offset + n0 * ol + grp * g.Og * g.L, BBatch = ol, BInner = g.L, BCol = 1,
                                CBatch = kl, CRow = g.L, CCol = 1,
                            }, nb);
                            col2im(nb * g.Cg * g.H * g.W, colView, View<T>(d), shape,
                                d.Offset + (n0 * g.C + grp * g.Cg) * g.H * g.W);
                            AfterLaunch();
                        }
                        else
                        {
                            Gemm<T, N>(b, col, d, new GemmArgs
                            {
                                M = g.Og, N = g.K, K = g.L, Reduce = nb, Accumulate = n0 > 0 ? 1 : 0,
                                AOffset = b.Offset + n0 * ol + grp * g.Og * g.L, AReduce = ol, ARow = g.L, AInner = 1,
                                BReduce = kl, BInner = 1, BCol = g.L,
                                COffset = d.Offset + grp * g.Og * g.K, CRow = g.K, CCol = 1,
                            }, 1);
                        }
                    }
                }
            }
            finally
            {
                colStorage.Release();
            }
            AddBias(bias, d);
        }
        finally
        {
            aCopy?.Release();
            bCopy?.Release();
        }
    }

    // y[n, o, ·] += bias[o] in place, one elementwise pass over the output (the bias read through a broadcast view);
    // nothing without a bias. Added after the products, as the CPU backend adds it after its GEMM.
    void AddBias(BufferView bias, BufferView y)
    {
        if (bias.Storage is null) return;
        Binary(BinaryOp.Add, y, bias.With(y.Shape, [0, bias.Strides[0], 0, 0]), y);
    }

    // A 1×1 convolution with stride 1 and no padding is a GEMM on the input itself, viewed per image as [C, H·W]
    // (no column buffer): forward Y[n, g] = W[g]·X[n, g], input gradient dX[n, g] = W[g]ᵀ·dY[n, g] (both batched
    // over the images through batch strides), weight gradient dW[g] = Σ_n dY[n, g]·X[n, g]ᵀ (the images are the
    // GEMM's reduction index). Weight and gradOutput are dense here; the input is read through its strides.
    void Pointwise<T, N>(in ConvGeometry g, BufferView a, BufferView b, BufferView d, int kind)
        where T : unmanaged where N : struct, INumeric<T>
    {
        int ol = g.O * g.L, cl = g.C * g.L;
        for (int grp = 0; grp < g.G; grp++)
        {
            if (kind == 0)
            {
                Gemm<T, N>(b, a, d, new GemmArgs
                {
                    M = g.Og, N = g.L, K = g.Cg, Reduce = 1,
                    AOffset = b.Offset + grp * g.Og * g.Cg, ARow = g.Cg, AInner = 1,
                    BOffset = a.Offset + grp * g.Cg * a.Strides[1], BBatch = a.Strides[0], BInner = a.Strides[1], BCol = SpatialStride(a)!.Value,
                    COffset = d.Offset + grp * g.Og * g.L, CBatch = ol, CRow = g.L, CCol = 1,
                }, g.N);
            }
            else if (kind == 1)
            {
                Gemm<T, N>(b, a, d, new GemmArgs
                {
                    M = g.Cg, N = g.L, K = g.Og, Reduce = 1,
                    AOffset = b.Offset + grp * g.Og * g.Cg, ARow = 1, AInner = g.Cg,
                    BOffset = a.Offset + grp * g.Og * g.L, BBatch = ol, BInner = g.L, BCol = 1,
                    COffset = d.Offset + grp * g.Cg * g.L, CBatch = cl, CRow = g.L, CCol = 1,
                }, g.N);
            }
            else
            {
                Gemm<T, N>(b, a, d, new GemmArgs
                {
                    M = g.Og, N = g.Cg, K = g.L, Reduce = g.N,
                    AOffset = b.Offset + grp * g.Og * g.L, AReduce = ol, ARow = g.L, AInner = 1,
                    BOffset = a.Offset + grp * g.Cg * a.Strides[1], BReduce = a.Strides[0], BInner = SpatialStride(a)!.Value, BCol = a.Strides[1],
                    COffset = d.Offset + grp * g.Og * g.Cg, CRow = g.Cg, CCol = 1,
                }, 1);
            }
        }
    }

    // The stride of the flattened spatial index h·W + w of an NCHW view, when one stride serves (else null).
    static int? SpatialStride(BufferView x)
    {
        int h = x.Shape[2], w = x.Shape[3];
        if (w == 1) return h == 1 ? 1 : x.Strides[2];
        if (h == 1 || x.Strides[2] == w * x.Strides[3]) return x.Strides[3];
        return null;
    }

    (BufferView View, Storage Copy) Densify(BufferView v)
    {
        var s = Allocate(v.DType, v.Count);
        var dense = BufferView.Contiguous(s, v.Shape);
        Copy(v, dense);
        return (dense, s);
    }
}
