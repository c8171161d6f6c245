namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Sizes of one convolution, read from its operand views once: input [N, C, H, W], weight [O, C/G, kH, kW],
/// output [N, O, OH, OW]. Per group the GEMMs see the weight as [Og, K] and im2col columns as [K, L].
/// </summary>
internal readonly struct ConvGeometry
{
    public ConvGeometry(int[] input, int[] weight, int[] output, Conv2dParams p, string op)
    {
        if (input.Length != 4 || weight.Length != 4 || output.Length != 4)
            throw new ArgumentException($"{op}: expects 4-d operands, got input {ShapeMath.Format(input)}, weight {ShapeMath.Format(weight)}, output {ShapeMath.Format(output)}.");
        if (p.Groups < 1 || p.StrideH < 1 || p.StrideW < 1 || p.DilationH < 1 || p.DilationW < 1 || p.PadH < 0 || p.PadW < 0)
            throw new ArgumentException($"{op}: invalid parameters {p}.");
        N = input[0]; C = input[1]; H = input[2]; W = input[3];
        O = weight[0]; KH = weight[2]; KW = weight[3];
        OH = output[2]; OW = output[3];
        G = p.Groups;
        if (C % G != 0 || O % G != 0 || weight[1] != C / G || output[0] != N || output[1] != O
            || OH != Math.Max(0, p.OutputHeight(H, KH)) || OW != Math.Max(0, p.OutputWidth(W, KW)))
            throw new ArgumentException($"{op}: inconsistent shapes input {ShapeMath.Format(input)}, weight {ShapeMath.Format(weight)}, output {ShapeMath.Format(output)} for {p}.");
        Cg = C / G;
        Og = O / G;
        K = Cg * KH * KW;
        L = OH * OW;
        Pointwise = KH == 1 && KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 0 && p.PadW == 0;
    }

    public int N { get; }
    public int C { get; }
    public int H { get; }
    public int W { get; }
    public int O { get; }
    public int KH { get; }
    public int KW { get; }
    public int OH { get; }
    public int OW { get; }
    public int G { get; }

    /// <summary>Input channels per group.</summary>
    public int Cg { get; }

    /// <summary>Output channels per group.</summary>
    public int Og { get; }

    /// <summary>Rows of the im2col matrix of one group: Cg·kH·kW.</summary>
    public int K { get; }

    /// <summary>Output positions per image: OH·OW.</summary>
    public int L { get; }

    /// <summary>A 1×1 kernel with unit stride and no padding: the input planes already are the im2col matrix.</summary>
    public bool Pointwise { get; }

    public long InputImage => (long)C * H * W;

    public long OutputImage => (long)O * L;

    public long WeightCount => (long)O * K;

    /// <summary>Multiply-adds of one image, for the parallel-loop inline decision.</summary>
    public long WorkPerImage => 2L * O * K * L;
}
