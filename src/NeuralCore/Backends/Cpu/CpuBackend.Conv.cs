using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Convolution by im2col + GEMM, one image at a time (each image is an independent parallel item, so the
/// result does not depend on the thread count). Per image and channel group:
/// forward Y[Og, L] = W[Og, K]·col[K, L]; input gradient col = Wᵀ·dY then col2im; weight gradient
/// dW += dY·colᵀ. Non-contiguous operands are copied once; column matrices live in a per-thread scratch buffer.
/// </summary>
public sealed unsafe partial class CpuBackend : IConvBiasFusion
{
    /// <summary>Most partial weight gradients kept at once (the batch is cut into at most this many fixed chunks).</summary>
    const int MaxWeightGradChunks = 8;

    /// <summary>Floats of prepared images one direct weight-gradient pass keeps (about 256 KiB, within L2).</summary>
    const long DirectWeightBatch = 64 * 1024;

    /// <summary>Budget in elements for all partial weight gradients together; larger weights use fewer chunks.</summary>
    const long WeightGradChunkBudget = 4L << 20;

    /// <inheritdoc />
    public void Conv2d(BufferView input, BufferView weight, BufferView destination, Conv2dParams p)
    {
        var g = new ConvGeometry(input.Shape, weight.Shape, destination.Shape, p, nameof(Conv2d));
        RunConv(nameof(Conv2d), g, p, input, weight, destination, 0);
    }

    void IConvBiasFusion.Conv2dBias(BufferView input, BufferView weight, BufferView bias, BufferView destination, Conv2dParams p)
    {
        var g = new ConvGeometry(input.Shape, weight.Shape, destination.Shape, p, nameof(IConvBiasFusion.Conv2dBias));
        FusedOperandChecks.ConvBias(bias, g.O, input.DType);
        Storage? biasCopy = null;
        try
        {
            if (!bias.IsContiguous) (bias, biasCopy) = Densify(bias);
            RunConv(nameof(IConvBiasFusion.Conv2dBias), g, p, input, weight, destination, 0, bias);
        }
        finally
        {
            biasCopy?.Release();
        }
    }

    // Per channel: the images' spatial sums (each a fixed-order vector sum) added in image order, in double for
    // float32; channels are independent parallel items, so the result does not depend on the thread count.
    void IConvBiasFusion.Conv2dBiasGrad(BufferView gradOutput, BufferView gradBias)
    {
        FusedOperandChecks.ConvBiasGrad(gradOutput, gradBias);
        Storage? copy = null;
        try
        {
            if (!gradOutput.IsContiguous) (gradOutput, copy) = Densify(gradOutput);
            int n = gradOutput.Shape[0], o = gradOutput.Shape[1], l = gradOutput.Shape[2] * gradOutput.Shape[3];
            if (gradOutput.DType == DType.Float32)
                CpuParallel.For(o, (long)n * l, new BiasGradJob<float>(Cpu(gradOutput).Pointer<float>() + gradOutput.Offset,
                    Cpu(gradBias).Pointer<float>() + gradBias.Offset, n, o, l), static (c, j) => j.Run(c));
            else
                CpuParallel.For(o, (long)n * l, new BiasGradJob<double>(Cpu(gradOutput).Pointer<double>() + gradOutput.Offset,
                    Cpu(gradBias).Pointer<double>() + gradBias.Offset, n, o, l), static (c, j) => j.Run(c));
        }
        finally
        {
            copy?.Release();
        }
    }

    readonly struct BiasGradJob<T>(T* gy, T* db, int n, int o, int l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int c)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
                sum += double.CreateTruncating(TensorPrimitives.Sum(new ReadOnlySpan<T>(gy + ((long)i * o + c) * l, l)));
            db[c] = T.CreateTruncating(sum);
        }
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

    // kind 0: forward (a = input, b = weight); 1: input gradient (a = gradOutput, b = weight);
    // 2: weight gradient (a = input, b = gradOutput). The destination is always written in full.
    void RunConv(string op, in ConvGeometry g, Conv2dParams p, BufferView a, BufferView b, BufferView d, int kind, BufferView bias = default)
    {
        if (a.DType != b.DType || a.DType != d.DType)
            throw new ArgumentException($"{op}: operands must share a dtype, got {a.DType}, {b.DType} and {d.DType}.");
        if (!d.IsContiguous) throw new ArgumentException($"{op}: the destination must be contiguous.");
        // The im2col columns of one group, [K, L], live in a per-thread workspace that must fit one allocation.
        if (!g.Pointwise && d.Count > 0)
            ShapeMath.RequireBytes(op, (long)g.K * g.L, a.DType, this,
                $"the im2col workspace [{g.K}, {g.L}] for kernel ({g.KH}, {g.KW}) and output ({g.OH}, {g.OW})");
        Storage? aCopy = null, bCopy = null;
        try
        {
            if (!a.IsContiguous) (a, aCopy) = Densify(a);
            if (!b.IsContiguous) (b, bCopy) = Densify(b);
            switch (a.DType)
            {
                case DType.Float32: RunConv<float>(g, p, a, b, d, kind, bias); break;
                case DType.Float64: RunConv<double>(g, p, a, b, d, kind, bias); break;
                default: throw new ArgumentException($"{op}: needs Float32 or Float64 operands, got {a.DType}.");
            }
        }
        finally
        {
            aCopy?.Release();
            bCopy?.Release();
        }
    }

    // bias (kind 0 only, optional): [O], added to every output position of its channel.
    void RunConv<T>(in ConvGeometry g, Conv2dParams p, BufferView a, BufferView b, BufferView d, int kind, BufferView bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* ap = Cpu(a).Pointer<T>() + a.Offset, bp = Cpu(b).Pointer<T>() + b.Offset, dp = Cpu(d).Pointer<T>() + d.Offset;
        T* biasp = bias.Storage is null ? null : Cpu(bias).Pointer<T>() + bias.Offset;
        int count = d.Count;
        if (count == 0) return;
        if (g.N == 0 || g.K == 0 || g.L == 0)
        {
            // empty sums: zero, plus the bias where there is one
            if (biasp is null) new Span<T>(dp, count).Clear();
            else
                for (long i = 0; i < count; i++) dp[i] = biasp[i / g.L % g.O];
            return;
        }
        if (typeof(T) == typeof(float) && DirectConv.Applies(g, p, kind))
        {
            RunDirect(g, p, (float*)ap, (float*)bp, (float*)dp, kind, (float*)biasp);
            return;
        }
        if (kind == 0)
        {
            CpuParallel.For(g.N, g.WorkPerImage, new ConvJob<T>(g, p, ap, bp, dp, biasp), static (n, j) => j.Forward(n));
        }
        else if (kind == 1)
        {
            CpuParallel.For(g.N, g.WorkPerImage, new ConvJob<T>(g, p, ap, bp, dp, null), static (n, j) => j.BackwardInput(n));
        }
        else
        {
            WeightGradient(g, p, ap, bp, dp);
        }
    }

    // Direct unit-stride kernels (see DirectConv). Weights are packed once per call into [G, OBlocks, Taps, 4]
    // (flipped and transposed for the input gradient); every (image, group, output block) is one parallel item.
    void RunDirect(in ConvGeometry g, Conv2dParams p, float* a, float* b, float* d, int kind, float* bias)
    {
        var plan = kind == 1
            ? new DirectConv.Plan(g.Og, g.OH, g.OW, p.DilationH * (g.KH - 1) - p.PadH, p.DilationW * (g.KW - 1) - p.PadW,
                g.KH, g.KW, p.DilationH, p.DilationW, g.Cg)
            : new DirectConv.Plan(g.Cg, g.H, g.W, p.PadH, p.PadW, g.KH, g.KW, p.DilationH, p.DilationW, g.Og);
        if (kind == 1 && (plan.OH != g.H || plan.OW != g.W))
            throw new InvalidOperationException($"Conv2dBackwardInput: direct plan produces {plan.OH}x{plan.OW}, expected {g.H}x{g.W}.");
        int tapCount = plan.TapGroups * plan.TB;
        long packedCount = kind == 2 ? 0 : g.G * plan.PackedPerGroup;
        var aux = (CpuStorage)Allocate(DType.Float32, checked((int)(tapCount + packedCount)));
        try
        {
            int* taps = (int*)aux.Pointer<float>();
            float* packed = aux.Pointer<float>() + tapCount;
            plan.FillTaps(taps);
            if (kind != 2) PackDirectWeights(g, plan, b, packed, kind == 1);
            var job = new DirectJob(g, plan, a, kind == 2 ? b : null, d, taps, packed, bias);
            if (kind == 0)
                CpuParallel.For(g.N * g.G * plan.OBlocks, plan.WorkPerBlock, job, static (i, j) => j.Forward(i));
            else if (kind == 1)
                CpuParallel.For(g.N * g.G * plan.OBlocks, plan.WorkPerBlock, job, static (i, j) => j.BackwardInput(i));
            else
                DirectWeightGradient(g, job, d);
        }
        finally
        {
            aux.Release();
        }
    }

    static void PackDirectWeights(in ConvGeometry g, in DirectConv.Plan plan, float* w, float* packed, bool transposed)
    {
        int kh = g.KH, kw = g.KW, taps = plan.Taps, ob4 = plan.OB;
        for (int grp = 0; grp < g.G; grp++)
            for (int ob = 0; ob < plan.OBlocks; ob++)
            {
                float* dst = packed + ((long)grp * plan.OBlocks + ob) * taps * ob4;
                for (int t = 0; t < taps; t++)
                    for (int k = 0; k < ob4; k++)
                    {
                        int o = ob * ob4 + k;
                        float v = 0;
                        if (o < plan.Cout)
                        {
                            if (!transposed)
                            {
                                v = w[((long)grp * g.Og + o) * g.K + t];
                            }
                            else
                            {
                                // output channel o of the transposed conv is input channel o of the layer;
                                // its tap t = (oc, i, j) reads weight [oc, o, kh − 1 − i, kw − 1 − j]
                                int oc = t / (kh * kw), r = t % (kh * kw), i = r / kw, j = r % kw;
                                v = w[(((long)grp * g.Og + oc) * g.Cg + o) * kh * kw + (kh - 1 - i) * kw + (kw - 1 - j)];
                            }
                        }
                        dst[t * ob4 + k] = v;
                    }
            }
    }

    // Same fixed batch partition as WeightGradient: chunk c sums its images in order into its own partial.
    void DirectWeightGradient(in ConvGeometry g, DirectJob job, float* dw)
    {
        long wCount = g.WeightCount;
        int chunks = (int)Math.Clamp(Math.Min(WeightGradChunkBudget / Math.Max(wCount, 1), MaxWeightGradChunks), 1, g.N);
        if (chunks == 1)
        {
            job.WeightChunk(0, g.N, dw);
            return;
        }
        var partials = (CpuStorage)Allocate(DType.Float32, (int)((chunks - 1) * wCount));
        try
        {
            float* part = partials.Pointer<float>();
            var wj = new DirectWeightJob(job, dw, part, chunks, g.N, wCount);
            CpuParallel.For(chunks, g.WorkPerImage * g.N / chunks, wj, static (c, j) => j.Run(c));
            var sum = new Span<float>(dw, (int)wCount);
            for (int c = 1; c < chunks; c++)
                TensorPrimitives.Add(sum, new ReadOnlySpan<float>(part + (c - 1) * wCount, (int)wCount), sum);
        }
        finally
        {
            partials.Release();
        }
    }

    readonly struct DirectWeightJob(DirectJob job, float* dw, float* partials, int chunks, int n, long wCount)
    {
        public void Run(int c)
        {
            int start = (int)((long)n * c / chunks), end = (int)((long)n * (c + 1) / chunks);
            job.WeightChunk(start, end, c == 0 ? dw : partials + (c - 1) * wCount);
        }
    }

    // a: the layer input (kinds 0, 2) or gradOutput (kind 1); dy: gradOutput for kind 2; d: the destination.
    readonly struct DirectJob(ConvGeometry g, DirectConv.Plan plan, float* a, float* dy, float* d, int* taps, float* packed, float* bias)
    {
        public void Forward(int item)
        {
            int ob = item % plan.OBlocks, ng = item / plan.OBlocks, grp = ng % g.G, n = ng / g.G;
            float* scratch = ConvScratch<float>.Get(plan.ScratchLength + plan.WideScratch);
            plan.Pad(a + n * g.InputImage + (long)grp * g.Cg * g.H * g.W, scratch);
            plan.Forward(scratch, taps, packed + grp * plan.PackedPerGroup, ob,
                scratch + plan.ScratchLength, d + n * g.OutputImage + (long)grp * g.Og * g.L, bias is null ? null : bias + (long)grp * g.Og);
        }

        public void BackwardInput(int item)
        {
            int ob = item % plan.OBlocks, ng = item / plan.OBlocks, grp = ng % g.G, n = ng / g.G;
            float* scratch = ConvScratch<float>.Get(plan.ScratchLength + plan.WideScratch);
            plan.Pad(a + n * g.OutputImage + (long)grp * g.Og * g.L, scratch);
            plan.Forward(scratch, taps, packed + grp * plan.PackedPerGroup, ob,
                scratch + plan.ScratchLength, d + n * g.InputImage + (long)grp * g.Cg * g.H * g.W, null);
        }

        // Images are prepared in fixed sub-batches (sized by the shapes only) whose sums stay in registers.
        public void WeightChunk(int start, int end, float* dw)
        {
            long image = plan.WeightImage;
            int batch = (int)Math.Clamp(DirectWeightBatch / image, 1, end - start);
            float* scratch = ConvScratch<float>.Get(batch * image);
            for (int grp = 0; grp < g.G; grp++)
                for (int n0 = start; n0 < end; n0 += batch)
                {
                    int count = Math.Min(batch, end - n0);
                    for (int k = 0; k < count; k++)
                    {
                        int n = n0 + k;
                        float* slot = scratch + k * image;
                        plan.Pad(a + n * g.InputImage + (long)grp * g.Cg * g.H * g.W, slot);
                        plan.Widen(dy + n * g.OutputImage + (long)grp * g.Og * g.L, slot + plan.ScratchLength);
                    }
                    plan.WeightGradient(scratch, count, taps, dw + (long)grp * g.Og * g.K, n0 != start);
                }
        }
    }

    // The batch is cut into a fixed number of chunks that depends only on the shapes; each chunk sums its
    // images into its own partial gradient, and the partials are added in chunk order. So the result is the
    // same for every thread count, while the chunks still run in parallel.
    void WeightGradient<T>(in ConvGeometry g, Conv2dParams p, T* x, T* dy, T* dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long wCount = g.WeightCount;
        int chunks = (int)Math.Clamp(Math.Min(WeightGradChunkBudget / Math.Max(wCount, 1), MaxWeightGradChunks), 1, g.N);
        if (chunks == 1)
        {
            new ConvJob<T>(g, p, x, dy, dw).WeightChunk(0, g.N, dw);
            return;
        }
        var partials = (CpuStorage)Allocate(typeof(T) == typeof(float) ? DType.Float32 : DType.Float64, (int)((chunks - 1) * wCount));
        try
        {
            T* part = partials.Pointer<T>();
            var job = new WeightJob<T>(new ConvJob<T>(g, p, x, dy, dw), part, chunks);
            CpuParallel.For(chunks, g.WorkPerImage * g.N / chunks, job, static (c, j) => j.Run(c));
            var sum = new Span<T>(dw, (int)wCount);
            for (int c = 1; c < chunks; c++)
                TensorPrimitives.Add(sum, new ReadOnlySpan<T>(part + (c - 1) * wCount, (int)wCount), sum);
        }
        finally
        {
            partials.Release();
        }
    }

    readonly struct WeightJob<T>(ConvJob<T> conv, T* partials, int chunks) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int c)
        {
            int n = conv.Geometry.N;
            int start = (int)((long)n * c / chunks), end = (int)((long)n * (c + 1) / chunks);
            conv.WeightChunk(start, end, c == 0 ? conv.Destination : partials + (c - 1) * conv.Geometry.WeightCount);
        }
    }

    readonly struct ConvJob<T>(ConvGeometry g, Conv2dParams p, T* a, T* b, T* d, T* bias = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public ConvGeometry Geometry => g;

        public T* Destination => d;

        // a = input [N, C, H, W], b = weight [O, K], d = output [N, O, L].
        public void Forward(int n)
        {
            T* x = a + n * g.InputImage, y = d + n * g.OutputImage;
            T* col = g.Pointwise ? null : ConvScratch<T>.Get((long)g.K * g.L);
            for (int grp = 0; grp < g.G; grp++)
            {
                T* xg = x + (long)grp * g.Cg * g.H * g.W;
                if (!g.Pointwise) Im2Col.Pack(xg, col, g.Cg, g, p);
                ConvGemm(false, false, g.Og, g.L, g.K, T.One, b + (long)grp * g.Og * g.K, g.K,
                    g.Pointwise ? xg : col, g.L, T.Zero, y + (long)grp * g.Og * g.L, g.L);
            }
            if (bias is not null)
                for (int o = 0; o < g.O; o++)
                {
                    var row = new Span<T>(y + (long)o * g.L, g.L);
                    TensorPrimitives.Add(row, bias[o], row);
                }
        }

        // a = gradOutput [N, O, L], b = weight [O, K], d = gradInput [N, C, H, W].
        public void BackwardInput(int n)
        {
            T* dy = a + n * g.OutputImage, dx = d + n * g.InputImage;
            if (g.Pointwise)
            {
                for (int grp = 0; grp < g.G; grp++)
                    ConvGemm(true, false, g.Cg, g.L, g.Og, T.One, b + (long)grp * g.Og * g.K, g.K,
                        dy + (long)grp * g.Og * g.L, g.L, T.Zero, dx + (long)grp * g.Cg * g.L, g.L);
                return;
            }
            new Span<T>(dx, (int)g.InputImage).Clear();
            T* col = ConvScratch<T>.Get((long)g.K * g.L);
            for (int grp = 0; grp < g.G; grp++)
            {
                ConvGemm(true, false, g.K, g.L, g.Og, T.One, b + (long)grp * g.Og * g.K, g.K,
                    dy + (long)grp * g.Og * g.L, g.L, T.Zero, col, g.L);
                Im2Col.Accumulate(col, dx + (long)grp * g.Cg * g.H * g.W, g.Cg, g, p);
            }
        }

        // a = input [N, C, H, W], b = gradOutput [N, O, L]; writes Σ over images [start, end) into dw [O, K].
        public void WeightChunk(int start, int end, T* dw)
        {
            T* col = g.Pointwise ? null : ConvScratch<T>.Get((long)g.K * g.L);
            for (int n = start; n < end; n++)
            {
                T beta = n == start ? T.Zero : T.One;
                for (int grp = 0; grp < g.G; grp++)
                {
                    T* xg = a + n * g.InputImage + (long)grp * g.Cg * g.H * g.W;
                    if (!g.Pointwise) Im2Col.Pack(xg, col, g.Cg, g, p);
                    ConvGemm(false, true, g.Og, g.K, g.L, T.One, b + n * g.OutputImage + (long)grp * g.Og * g.L, g.L,
                        g.Pointwise ? xg : col, g.L, beta, dw + (long)grp * g.Og * g.K, g.K);
                }
            }
        }
    }

    static void ConvGemm<T>(bool ta, bool tb, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            CpuGemm.Sgemm(ta, tb, m, n, k, float.CreateTruncating(alpha), (float*)a, lda, (float*)b, ldb, float.CreateTruncating(beta), (float*)c, ldc);
        else
            CpuGemm.Dgemm(ta, tb, m, n, k, double.CreateTruncating(alpha), (double*)a, lda, (double*)b, ldb, double.CreateTruncating(beta), (double*)c, ldc);
    }
}
