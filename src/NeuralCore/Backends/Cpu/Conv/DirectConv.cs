using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Direct float32 convolution with unit stride for layers with few channels (LeNet-like), where im2col + GEMM
/// spends more time copying and packing thin matrices than multiplying.
/// </summary>
/// <remarks>
/// <para>
/// One image group is first copied into a zero-padded scratch [Cin, Hp, Wp]. An output pixel (oy, ox) then
/// reads tap t = (c, i, j) at flat offset oy·Wp + ox + tap[t] with tap[t] = c·Hp·Wp + i·dH·Wp + j·dW, so over
/// the "wide" positions q = oy·Wp + ox every tap is one contiguous run of the scratch: the kernel keeps
/// 4 output channels × 3 vectors of positions (or 6 × 2, whichever leaves fewer idle channels) in registers
/// and, per tap, loads 3 (2) vectors and broadcasts 4 (6) weights. Vectors are 512-bit where the hardware
/// has them, else 256-bit.
/// Wide positions with ox ≥ OW are computed and dropped when the rows are copied out.
/// </para>
/// <para>
/// The input gradient of a unit-stride convolution is itself a unit-stride convolution of gradOutput with the
/// flipped, transposed kernel and padding dilation·(k − 1) − pad, so it runs through the same kernel. The
/// weight gradient is dW[o, t] = Σ_q dYwide[o, q] · scratch[q + tap[t]] with dYwide zero at the dropped
/// positions: 4 output channels × 3 taps (or 6 × 2) of vector dot products per register block, summed over a
/// sub-batch of images before the horizontal sums.
/// </para>
/// <para>Every output element is computed by one fixed sequence of operations, so results do not depend on the thread count.</para>
/// </remarks>
internal static unsafe class DirectConv
{
    /// <summary>Accumulator registers of every kernel variant: 4 channels × 3 or 6 channels × 2.</summary>
    const int Acc = 12;

    /// <summary>Largest padded image group (elements) worth keeping in the L1/L2 caches for the direct path.</summary>
    const long MaxScratchImage = 32 * 1024;

    /// <summary>Most wide positions per real gradOutput position for which the direct input gradient beats GEMM + col2im.</summary>
    const double MaxPaddingOverhead = 1.6;

    /// <summary>
    /// True when the direct kernels apply: float32, AVX2 with FMA, unit stride, a small padded image group and
    /// few output channels or taps (where GEMM tiles would be mostly empty). kind 0: forward; 1: input
    /// gradient; 2: weight gradient.
    /// </summary>
    public static bool Applies(in ConvGeometry g, in Conv2dParams p, int kind)
    {
        if (!Vector256.IsHardwareAccelerated || !Fma.IsSupported) return false;
        if (p.StrideH != 1 || p.StrideW != 1 || g.Pointwise) return false;
        long hp = g.H + 2L * p.PadH, wp = g.W + 2L * p.PadW;
        if (kind == 1)
        {
            // the transposed convolution pads gradOutput by dilation·(k − 1) − pad on each side
            long ph = (long)p.DilationH * (g.KH - 1) - p.PadH, pw = (long)p.DilationW * (g.KW - 1) - p.PadW;
            if (ph < 0 || pw < 0) return false;
            hp = g.OH + 2 * ph;
            wp = g.OW + 2 * pw;
            // it multiplies every tap at each of the H·Wp wide positions, most of them zero padding when the
            // kernel is large next to gradOutput; GEMM + col2im only multiplies at the OH·OW real ones
            return (long)g.Og * hp * wp <= MaxScratchImage && (g.Cg <= 32 || g.K <= 256)
                && (double)g.H * wp <= MaxPaddingOverhead * g.OH * g.OW;
        }
        return (long)g.Cg * hp * wp <= MaxScratchImage && (g.Og <= 32 || g.K <= 256);
    }

    /// <summary>
    /// Shapes of one direct pass over a source image group [Cin, Hs, Ws] padded by (ph, pw): the kernel is
    /// kh × kw with dilation (dh, dw) and the output is [Cout, OH, OW].
    /// </summary>
    public readonly struct Plan
    {
        public Plan(int cin, int hs, int ws, int ph, int pw, int kh, int kw, int dh, int dw, int cout)
        {
            Cin = cin; Hs = hs; Ws = ws; Ph = ph; Pw = pw; KH = kh; KW = kw; DH = dh; DW = dw; Cout = cout;
            Hp = hs + 2 * ph;
            Wp = ws + 2 * pw;
            OH = Hp - dh * (kh - 1);
            OW = Wp - dw * (kw - 1);
            Taps = cin * kh * kw;
            Wide = (OH - 1) * Wp + OW;
            // 6-channel blocks (6 × 16 positions; 6 channels × 2 taps for the weight gradient) when they leave
            // fewer idle channels than 4-channel blocks (4 × 3 vectors; 4 × 3 taps)
            OB = (cout + 5) / 6 * 6 < (cout + 3) / 4 * 4 ? 6 : 4;
            // 512-bit kernels where available (the GEMM's test cap applies here too), else 256-bit
            V = Vector512.IsHardwareAccelerated && (CpuGemm.MaxVectorBits == 0 || CpuGemm.MaxVectorBits >= 512) ? 16 : 8;
            PB = OB == 6 ? 2 * V : 3 * V;
            TB = Acc / OB;
            WideBlocks = (Wide + PB - 1) / PB;
            int lastTap = (cin - 1) * Hp * Wp + (kh - 1) * dh * Wp + (kw - 1) * dw;
            // the forward kernel reads up to WideBlocks·PB positions past each tap; the weight kernel up to
            // the wide length rounded to 8 (never more)
            ScratchLength = Math.Max((long)cin * Hp * Wp, (long)lastTap + WideBlocks * PB);
            OBlocks = (cout + OB - 1) / OB;
            TapGroups = (Taps + TB - 1) / TB;
        }

        /// <summary>Output channels per register block (4 or 6).</summary>
        public int OB { get; }

        /// <summary>Floats per vector: 16 (512-bit kernels) or 8 (256-bit).</summary>
        public int V { get; }

        /// <summary>Wide positions per forward register block: 3 or 2 vectors.</summary>
        public int PB { get; }

        /// <summary>Taps per weight-gradient register block (3 or 2).</summary>
        public int TB { get; }

        /// <summary>Floats of the forward kernel's wide output block: OB·WideBlocks·PB.</summary>
        public long WideScratch => (long)OB * WideBlocks * PB;

        /// <summary>Packed weights of one group: [OBlocks, Taps, OB].</summary>
        public long PackedPerGroup => (long)OBlocks * Taps * OB;

        public int Cin { get; }
        public int Hs { get; }
        public int Ws { get; }
        public int Ph { get; }
        public int Pw { get; }
        public int KH { get; }
        public int KW { get; }
        public int DH { get; }
        public int DW { get; }
        public int Cout { get; }
        public int Hp { get; }
        public int Wp { get; }
        public int OH { get; }
        public int OW { get; }

        /// <summary>Taps per output channel: Cin·kh·kw.</summary>
        public int Taps { get; }

        /// <summary>Wide positions that hold every valid output: (OH − 1)·Wp + OW.</summary>
        public int Wide { get; }

        public int WideBlocks { get; }

        /// <summary>Padded image plus the slack the kernels read past its end.</summary>
        public long ScratchLength { get; }

        public int OBlocks { get; }

        /// <summary>Tap blocks of the weight-gradient kernel (the last one padded with tap 0).</summary>
        public int TapGroups { get; }

        /// <summary>Multiply-adds of one (image, output block) item, for the inline decision.</summary>
        public long WorkPerBlock => 2L * OB * Taps * WideBlocks * PB;

        /// <summary>Writes tap offsets into <paramref name="taps"/> (TapGroups·TB entries; padding taps read offset 0).</summary>
        public void FillTaps(int* taps)
        {
            int t = 0;
            for (int c = 0; c < Cin; c++)
                for (int i = 0; i < KH; i++)
                    for (int j = 0; j < KW; j++)
                        taps[t++] = c * Hp * Wp + i * DH * Wp + j * DW;
            for (; t < TapGroups * TB; t++) taps[t] = 0;
        }

        /// <summary>Copies the source planes into the zero-padded scratch (and zeroes its slack).</summary>
        public void Pad(float* src, float* scratch)
        {
            if (Ph == 0 && Pw == 0)
            {
                long n = (long)Cin * Hs * Ws;
                Buffer.MemoryCopy(src, scratch, n * sizeof(float), n * sizeof(float));
                new Span<float>(scratch + n, (int)(ScratchLength - n)).Clear();
                return;
            }
            new Span<float>(scratch, (int)ScratchLength).Clear();
            for (int c = 0; c < Cin; c++)
            {
                float* s = src + (long)c * Hs * Ws, d = scratch + (long)c * Hp * Wp + (long)Ph * Wp + Pw;
                for (int y = 0; y < Hs; y++)
                    Buffer.MemoryCopy(s + (long)y * Ws, d + (long)y * Wp, Ws * sizeof(float), Ws * sizeof(float));
            }
        }

        /// <summary>
        /// Output channels [ob·4, ob·4 + 4) of one image: dst [Cout, OH, OW] from the padded scratch, with packed
        /// weights [OBlocks, Taps, 4], plus bias [Cout] when given. <paramref name="wide"/> holds <see cref="WideScratch"/> floats.
        /// </summary>
        public void Forward(float* scratch, int* taps, float* packed, int ob, float* wide, float* dst, float* bias)
        {
            int stride = WideBlocks * PB;
            float* wb = packed + (long)ob * Taps * OB;
            for (int blk = 0; blk < WideBlocks; blk++)
                if (V == 16)
                {
                    if (OB == 4) Block4x512(scratch + blk * PB, taps, Taps, wb, wide + blk * PB, stride);
                    else Block6x512(scratch + blk * PB, taps, Taps, wb, wide + blk * PB, stride);
                }
                else
                {
                    if (OB == 4) Block4(scratch + blk * PB, taps, Taps, wb, wide + blk * PB, stride);
                    else Block6(scratch + blk * PB, taps, Taps, wb, wide + blk * PB, stride);
                }
            int o0 = ob * OB, count = Math.Min(OB, Cout - o0);
            for (int k = 0; k < count; k++)
            {
                float* w = wide + (long)k * stride, d = dst + (long)(o0 + k) * OH * OW;
                if (bias is null)
                    for (int y = 0; y < OH; y++)
                        Buffer.MemoryCopy(w + (long)y * Wp, d + (long)y * OW, OW * sizeof(float), OW * sizeof(float));
                else
                    for (int y = 0; y < OH; y++)
                        TensorPrimitives.Add(new ReadOnlySpan<float>(w + (long)y * Wp, OW), bias[o0 + k], new Span<float>(d + (long)y * OW, OW));
            }
        }

        /// <summary>Floats of one image's weight-gradient operands: the padded scratch, then gradOutput on the wide grid.</summary>
        public long WeightImage => ScratchLength + (long)OBlocks * OB * WideVec;

        /// <summary>
        /// dW[o, t] (= or +=, per <paramref name="accumulate"/>) summed over <paramref name="images"/> prepared
        /// images laid out every <see cref="WeightImage"/> floats from <paramref name="batch"/> (see
        /// <see cref="Pad"/> and <see cref="Widen"/>); dw is [Cout, Taps]. Each dot product runs over the images
        /// in order, then over the wide positions, in registers.
        /// </summary>
        public void WeightGradient(float* batch, int images, int* taps, float* dw, bool accumulate)
        {
            int wideVec = WideVec;
            for (int ob = 0; ob < OBlocks; ob++)
            {
                long dyOffset = ScratchLength + (long)ob * OB * wideVec;
                int o0 = ob * OB, count = Math.Min(OB, Cout - o0);
                for (int tg = 0; tg < TapGroups; tg++)
                {
                    int t0 = tg * TB;
                    Sums s;
                    if (V == 16)
                    {
                        if (OB == 4) DotBlock4x3x512(batch, images, WeightImage, taps + t0, dyOffset, wideVec, out s);
                        else DotBlock6x2x512(batch, images, WeightImage, taps + t0, dyOffset, wideVec, out s);
                    }
                    else
                    {
                        if (OB == 4) DotBlock4x3(batch, images, WeightImage, taps + t0, dyOffset, wideVec, out s);
                        else DotBlock6x2(batch, images, WeightImage, taps + t0, dyOffset, wideVec, out s);
                    }
                    int tc = Math.Min(TB, Taps - t0);
                    for (int k = 0; k < count; k++)
                    {
                        float* row = dw + (long)(o0 + k) * Taps + t0;
                        for (int tt = 0; tt < tc; tt++)
                        {
                            float v = s[k * TB + tt];
                            row[tt] = accumulate ? row[tt] + v : v;
                        }
                    }
                }
            }
        }

        /// <summary>Lays one image's gradOutput [Cout, OH, OW] out on the wide grid [OBlocks·OB, WideVec], zero elsewhere.</summary>
        public void Widen(float* dy, float* dyWide)
        {
            int wideVec = WideVec;
            new Span<float>(dyWide, OBlocks * OB * wideVec).Clear();
            for (int o = 0; o < Cout; o++)
            {
                float* s = dy + (long)o * OH * OW, d = dyWide + (long)o * wideVec;
                for (int y = 0; y < OH; y++)
                    Buffer.MemoryCopy(s + (long)y * OW, d + (long)y * Wp, OW * sizeof(float), OW * sizeof(float));
            }
        }

        /// <summary>Wide length of the weight kernel: Wide rounded up to whole vectors.</summary>
        public int WideVec => (Wide + V - 1) / V * V;
    }

    // 4 output channels × 24 wide positions (256-bit); packed weights w[t·4 + k]; out rows of length ldo.
    static void Block4(float* src, int* taps, int count, float* w, float* outp, int ldo)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int t = 0; t < count; t++, w += 4)
        {
            float* x = src + taps[t];
            var x0 = Vector256.Load(x);
            var x1 = Vector256.Load(x + 8);
            var x2 = Vector256.Load(x + 16);
            var wv = Vector256.Create(w[0]);
            a00 = Fma.MultiplyAdd(x0, wv, a00); a01 = Fma.MultiplyAdd(x1, wv, a01); a02 = Fma.MultiplyAdd(x2, wv, a02);
            wv = Vector256.Create(w[1]);
            a10 = Fma.MultiplyAdd(x0, wv, a10); a11 = Fma.MultiplyAdd(x1, wv, a11); a12 = Fma.MultiplyAdd(x2, wv, a12);
            wv = Vector256.Create(w[2]);
            a20 = Fma.MultiplyAdd(x0, wv, a20); a21 = Fma.MultiplyAdd(x1, wv, a21); a22 = Fma.MultiplyAdd(x2, wv, a22);
            wv = Vector256.Create(w[3]);
            a30 = Fma.MultiplyAdd(x0, wv, a30); a31 = Fma.MultiplyAdd(x1, wv, a31); a32 = Fma.MultiplyAdd(x2, wv, a32);
        }
        a00.Store(outp); a01.Store(outp + 8); a02.Store(outp + 16);
        outp += ldo;
        a10.Store(outp); a11.Store(outp + 8); a12.Store(outp + 16);
        outp += ldo;
        a20.Store(outp); a21.Store(outp + 8); a22.Store(outp + 16);
        outp += ldo;
        a30.Store(outp); a31.Store(outp + 8); a32.Store(outp + 16);
    }

    // 6 output channels × 16 wide positions; packed weights w[t·6 + k].
    static void Block6(float* src, int* taps, int count, float* w, float* outp, int ldo)
    {
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector256<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        for (int t = 0; t < count; t++, w += 6)
        {
            float* x = src + taps[t];
            var x0 = Vector256.Load(x);
            var x1 = Vector256.Load(x + 8);
            var wv = Vector256.Create(w[0]);
            a00 = Fma.MultiplyAdd(x0, wv, a00); a01 = Fma.MultiplyAdd(x1, wv, a01);
            wv = Vector256.Create(w[1]);
            a10 = Fma.MultiplyAdd(x0, wv, a10); a11 = Fma.MultiplyAdd(x1, wv, a11);
            wv = Vector256.Create(w[2]);
            a20 = Fma.MultiplyAdd(x0, wv, a20); a21 = Fma.MultiplyAdd(x1, wv, a21);
            wv = Vector256.Create(w[3]);
            a30 = Fma.MultiplyAdd(x0, wv, a30); a31 = Fma.MultiplyAdd(x1, wv, a31);
            wv = Vector256.Create(w[4]);
            a40 = Fma.MultiplyAdd(x0, wv, a40); a41 = Fma.MultiplyAdd(x1, wv, a41);
            wv = Vector256.Create(w[5]);
            a50 = Fma.MultiplyAdd(x0, wv, a50); a51 = Fma.MultiplyAdd(x1, wv, a51);
        }
        a00.Store(outp); a01.Store(outp + 8); outp += ldo;
        a10.Store(outp); a11.Store(outp + 8); outp += ldo;
        a20.Store(outp); a21.Store(outp + 8); outp += ldo;
        a30.Store(outp); a31.Store(outp + 8); outp += ldo;
        a40.Store(outp); a41.Store(outp + 8); outp += ldo;
        a50.Store(outp); a51.Store(outp + 8);
    }

    /// <summary>
    /// 12 dot products: 4 gradOutput rows × 3 shifted runs of the scratch, over the images (every
    /// <paramref name="image"/> floats from <paramref name="batch"/>) and their ld wide positions.
    /// </summary>
    static void DotBlock4x3(float* batch, int images, long image, int* taps, long dyOffset, int ld, out Sums s)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int n = 0; n < images; n++)
        {
            float* b = batch + n * image;
            float* x0p = b + taps[0], x1p = b + taps[1], x2p = b + taps[2];
            float* d0p = b + dyOffset, d1p = d0p + ld, d2p = d0p + 2L * ld, d3p = d0p + 3L * ld;
            for (int q = 0; q < ld; q += 8)
            {
                var x0 = Vector256.Load(x0p + q);
                var x1 = Vector256.Load(x1p + q);
                var x2 = Vector256.Load(x2p + q);
                var d = Vector256.Load(d0p + q);
                a00 = Fma.MultiplyAdd(d, x0, a00); a01 = Fma.MultiplyAdd(d, x1, a01); a02 = Fma.MultiplyAdd(d, x2, a02);
                d = Vector256.Load(d1p + q);
                a10 = Fma.MultiplyAdd(d, x0, a10); a11 = Fma.MultiplyAdd(d, x1, a11); a12 = Fma.MultiplyAdd(d, x2, a12);
                d = Vector256.Load(d2p + q);
                a20 = Fma.MultiplyAdd(d, x0, a20); a21 = Fma.MultiplyAdd(d, x1, a21); a22 = Fma.MultiplyAdd(d, x2, a22);
                d = Vector256.Load(d3p + q);
                a30 = Fma.MultiplyAdd(d, x0, a30); a31 = Fma.MultiplyAdd(d, x1, a31); a32 = Fma.MultiplyAdd(d, x2, a32);
            }
        }
        s = default;
        s[0] = Vector256.Sum(a00); s[1] = Vector256.Sum(a01); s[2] = Vector256.Sum(a02);
        s[3] = Vector256.Sum(a10); s[4] = Vector256.Sum(a11); s[5] = Vector256.Sum(a12);
        s[6] = Vector256.Sum(a20); s[7] = Vector256.Sum(a21); s[8] = Vector256.Sum(a22);
        s[9] = Vector256.Sum(a30); s[10] = Vector256.Sum(a31); s[11] = Vector256.Sum(a32);
    }

    /// <summary>12 dot products: 6 gradOutput rows × 2 shifted runs of the scratch; see <see cref="DotBlock4x3"/>.</summary>
    static void DotBlock6x2(float* batch, int images, long image, int* taps, long dyOffset, int ld, out Sums s)
    {
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector256<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        for (int n = 0; n < images; n++)
        {
            float* b = batch + n * image;
            float* x0p = b + taps[0], x1p = b + taps[1];
            float* dp = b + dyOffset;
            for (int q = 0; q < ld; q += 8)
            {
                var x0 = Vector256.Load(x0p + q);
                var x1 = Vector256.Load(x1p + q);
                var d = Vector256.Load(dp + q);
                a00 = Fma.MultiplyAdd(d, x0, a00); a01 = Fma.MultiplyAdd(d, x1, a01);
                d = Vector256.Load(dp + ld + q);
                a10 = Fma.MultiplyAdd(d, x0, a10); a11 = Fma.MultiplyAdd(d, x1, a11);
                d = Vector256.Load(dp + 2L * ld + q);
                a20 = Fma.MultiplyAdd(d, x0, a20); a21 = Fma.MultiplyAdd(d, x1, a21);
                d = Vector256.Load(dp + 3L * ld + q);
                a30 = Fma.MultiplyAdd(d, x0, a30); a31 = Fma.MultiplyAdd(d, x1, a31);
                d = Vector256.Load(dp + 4L * ld + q);
                a40 = Fma.MultiplyAdd(d, x0, a40); a41 = Fma.MultiplyAdd(d, x1, a41);
                d = Vector256.Load(dp + 5L * ld + q);
                a50 = Fma.MultiplyAdd(d, x0, a50); a51 = Fma.MultiplyAdd(d, x1, a51);
            }
        }
        s = default;
        s[0] = Vector256.Sum(a00); s[1] = Vector256.Sum(a01);
        s[2] = Vector256.Sum(a10); s[3] = Vector256.Sum(a11);
        s[4] = Vector256.Sum(a20); s[5] = Vector256.Sum(a21);
        s[6] = Vector256.Sum(a30); s[7] = Vector256.Sum(a31);
        s[8] = Vector256.Sum(a40); s[9] = Vector256.Sum(a41);
        s[10] = Vector256.Sum(a50); s[11] = Vector256.Sum(a51);
    }

    // 512-bit twins of the kernels above (vectors of 16).
    // 4 output channels × 48 wide positions; packed weights w[t·4 + k]; out rows of length ldo.
    static void Block4x512(float* src, int* taps, int count, float* w, float* outp, int ldo)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int t = 0; t < count; t++, w += 4)
        {
            float* x = src + taps[t];
            var x0 = Vector512.Load(x);
            var x1 = Vector512.Load(x + 16);
            var x2 = Vector512.Load(x + 32);
            var wv = Vector512.Create(w[0]);
            a00 = Vector512.FusedMultiplyAdd(x0, wv, a00); a01 = Vector512.FusedMultiplyAdd(x1, wv, a01); a02 = Vector512.FusedMultiplyAdd(x2, wv, a02);
            wv = Vector512.Create(w[1]);
            a10 = Vector512.FusedMultiplyAdd(x0, wv, a10); a11 = Vector512.FusedMultiplyAdd(x1, wv, a11); a12 = Vector512.FusedMultiplyAdd(x2, wv, a12);
            wv = Vector512.Create(w[2]);
            a20 = Vector512.FusedMultiplyAdd(x0, wv, a20); a21 = Vector512.FusedMultiplyAdd(x1, wv, a21); a22 = Vector512.FusedMultiplyAdd(x2, wv, a22);
            wv = Vector512.Create(w[3]);
            a30 = Vector512.FusedMultiplyAdd(x0, wv, a30); a31 = Vector512.FusedMultiplyAdd(x1, wv, a31); a32 = Vector512.FusedMultiplyAdd(x2, wv, a32);
        }
        a00.Store(outp); a01.Store(outp + 16); a02.Store(outp + 32);
        outp += ldo;
        a10.Store(outp); a11.Store(outp + 16); a12.Store(outp + 32);
        outp += ldo;
        a20.Store(outp); a21.Store(outp + 16); a22.Store(outp + 32);
        outp += ldo;
        a30.Store(outp); a31.Store(outp + 16); a32.Store(outp + 32);
    }

    // 6 output channels × 32 wide positions; packed weights w[t·6 + k].
    static void Block6x512(float* src, int* taps, int count, float* w, float* outp, int ldo)
    {
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector512<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        for (int t = 0; t < count; t++, w += 6)
        {
            float* x = src + taps[t];
            var x0 = Vector512.Load(x);
            var x1 = Vector512.Load(x + 16);
            var wv = Vector512.Create(w[0]);
            a00 = Vector512.FusedMultiplyAdd(x0, wv, a00); a01 = Vector512.FusedMultiplyAdd(x1, wv, a01);
            wv = Vector512.Create(w[1]);
            a10 = Vector512.FusedMultiplyAdd(x0, wv, a10); a11 = Vector512.FusedMultiplyAdd(x1, wv, a11);
            wv = Vector512.Create(w[2]);
            a20 = Vector512.FusedMultiplyAdd(x0, wv, a20); a21 = Vector512.FusedMultiplyAdd(x1, wv, a21);
            wv = Vector512.Create(w[3]);
            a30 = Vector512.FusedMultiplyAdd(x0, wv, a30); a31 = Vector512.FusedMultiplyAdd(x1, wv, a31);
            wv = Vector512.Create(w[4]);
            a40 = Vector512.FusedMultiplyAdd(x0, wv, a40); a41 = Vector512.FusedMultiplyAdd(x1, wv, a41);
            wv = Vector512.Create(w[5]);
            a50 = Vector512.FusedMultiplyAdd(x0, wv, a50); a51 = Vector512.FusedMultiplyAdd(x1, wv, a51);
        }
        a00.Store(outp); a01.Store(outp + 16); outp += ldo;
        a10.Store(outp); a11.Store(outp + 16); outp += ldo;
        a20.Store(outp); a21.Store(outp + 16); outp += ldo;
        a30.Store(outp); a31.Store(outp + 16); outp += ldo;
        a40.Store(outp); a41.Store(outp + 16); outp += ldo;
        a50.Store(outp); a51.Store(outp + 16);
    }

    /// <summary>
    /// 12 dot products: 4 gradOutput rows × 3 shifted runs of the scratch, over the images (every
    /// <paramref name="image"/> floats from <paramref name="batch"/>) and their ld wide positions.
    /// </summary>
    static void DotBlock4x3x512(float* batch, int images, long image, int* taps, long dyOffset, int ld, out Sums s)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int n = 0; n < images; n++)
        {
            float* b = batch + n * image;
            float* x0p = b + taps[0], x1p = b + taps[1], x2p = b + taps[2];
            float* d0p = b + dyOffset, d1p = d0p + ld, d2p = d0p + 2L * ld, d3p = d0p + 3L * ld;
            for (int q = 0; q < ld; q += 16)
            {
                var x0 = Vector512.Load(x0p + q);
                var x1 = Vector512.Load(x1p + q);
                var x2 = Vector512.Load(x2p + q);
                var d = Vector512.Load(d0p + q);
                a00 = Vector512.FusedMultiplyAdd(d, x0, a00); a01 = Vector512.FusedMultiplyAdd(d, x1, a01); a02 = Vector512.FusedMultiplyAdd(d, x2, a02);
                d = Vector512.Load(d1p + q);
                a10 = Vector512.FusedMultiplyAdd(d, x0, a10); a11 = Vector512.FusedMultiplyAdd(d, x1, a11); a12 = Vector512.FusedMultiplyAdd(d, x2, a12);
                d = Vector512.Load(d2p + q);
                a20 = Vector512.FusedMultiplyAdd(d, x0, a20); a21 = Vector512.FusedMultiplyAdd(d, x1, a21); a22 = Vector512.FusedMultiplyAdd(d, x2, a22);
                d = Vector512.Load(d3p + q);
                a30 = Vector512.FusedMultiplyAdd(d, x0, a30); a31 = Vector512.FusedMultiplyAdd(d, x1, a31); a32 = Vector512.FusedMultiplyAdd(d, x2, a32);
            }
        }
        s = default;
        s[0] = Vector512.Sum(a00); s[1] = Vector512.Sum(a01); s[2] = Vector512.Sum(a02);
        s[3] = Vector512.Sum(a10); s[4] = Vector512.Sum(a11); s[5] = Vector512.Sum(a12);
        s[6] = Vector512.Sum(a20); s[7] = Vector512.Sum(a21); s[8] = Vector512.Sum(a22);
        s[9] = Vector512.Sum(a30); s[10] = Vector512.Sum(a31); s[11] = Vector512.Sum(a32);
    }

    /// <summary>12 dot products: 6 gradOutput rows × 2 shifted runs of the scratch; see <see cref="DotBlock4x3x512"/>.</summary>
    static void DotBlock6x2x512(float* batch, int images, long image, int* taps, long dyOffset, int ld, out Sums s)
    {
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector512<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        for (int n = 0; n < images; n++)
        {
            float* b = batch + n * image;
            float* x0p = b + taps[0], x1p = b + taps[1];
            float* dp = b + dyOffset;
            for (int q = 0; q < ld; q += 16)
            {
                var x0 = Vector512.Load(x0p + q);
                var x1 = Vector512.Load(x1p + q);
                var d = Vector512.Load(dp + q);
                a00 = Vector512.FusedMultiplyAdd(d, x0, a00); a01 = Vector512.FusedMultiplyAdd(d, x1, a01);
                d = Vector512.Load(dp + ld + q);
                a10 = Vector512.FusedMultiplyAdd(d, x0, a10); a11 = Vector512.FusedMultiplyAdd(d, x1, a11);
                d = Vector512.Load(dp + 2L * ld + q);
                a20 = Vector512.FusedMultiplyAdd(d, x0, a20); a21 = Vector512.FusedMultiplyAdd(d, x1, a21);
                d = Vector512.Load(dp + 3L * ld + q);
                a30 = Vector512.FusedMultiplyAdd(d, x0, a30); a31 = Vector512.FusedMultiplyAdd(d, x1, a31);
                d = Vector512.Load(dp + 4L * ld + q);
                a40 = Vector512.FusedMultiplyAdd(d, x0, a40); a41 = Vector512.FusedMultiplyAdd(d, x1, a41);
                d = Vector512.Load(dp + 5L * ld + q);
                a50 = Vector512.FusedMultiplyAdd(d, x0, a50); a51 = Vector512.FusedMultiplyAdd(d, x1, a51);
            }
        }
        s = default;
        s[0] = Vector512.Sum(a00); s[1] = Vector512.Sum(a01);
        s[2] = Vector512.Sum(a10); s[3] = Vector512.Sum(a11);
        s[4] = Vector512.Sum(a20); s[5] = Vector512.Sum(a21);
        s[6] = Vector512.Sum(a30); s[7] = Vector512.Sum(a31);
        s[8] = Vector512.Sum(a40); s[9] = Vector512.Sum(a41);
        s[10] = Vector512.Sum(a50); s[11] = Vector512.Sum(a51);
    }

    [System.Runtime.CompilerServices.InlineArray(Acc)]
    internal struct Sums
    {
        float _e;
    }
}
