using NeuralCore.Backends;

namespace NeuralCore.Gpu;

/// <summary>
/// Compiles every kernel of a backend by running each op's dispatch on empty operands: the dispatch resolves
/// (and caches) the kernel of every op, dtype and op struct exactly as real calls do, then launches nothing.
/// New op enum values are covered automatically because the ops are enumerated, not listed. The fused fast
/// paths (optimizer updates, cross-entropy, biased convolution, index-free max pooling) are warmed the same way.
/// </summary>
internal static class KernelWarmup
{
    static readonly DType[] All = Enum.GetValues<DType>();

    public static void Run(IlgpuBackend b)
    {
        var empty = All.ToDictionary(d => d, d => b.Allocate(d, 0));
        try
        {
            BufferView E(DType d, params int[] shape) => BufferView.Contiguous(empty[d], shape);
            foreach (var s in All)
                foreach (var d in All) b.Copy(E(s, 0), E(d, 0));
            b.LoadCheckKernels();
            foreach (var d in All)
            {
                b.Fill(E(d, 0), 0);
                b.Where(E(DType.Bool, 0), E(d, 0), E(d, 0), E(d, 0));
                foreach (var op in Enum.GetValues<UnaryOp>()) Try(() => b.Unary(op, E(d, 0), E(d, 0)));
                foreach (var op in Enum.GetValues<BinaryOp>())
                    Try(() => b.Binary(op, E(d, 0), E(d, 0), E(op.IsComparison() ? DType.Bool : d, 0)));
                foreach (var op in Enum.GetValues<ReduceOp>())
                    Try(() => b.Reduce(op, E(d, 0, 1), 1, E(op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.Int64 : d, 0)));
                Try(() => b.MatMul(E(d, 0, 0, 0), E(d, 0, 0, 0), E(d, 0, 0, 0)));
                b.IndexSelect(E(d, 0), 0, E(DType.Int64, 0), E(d, 0));
                b.Gather(E(d, 0), 0, E(DType.Int64, 0), E(d, 0));
                b.IndexAdd(E(d, 0), 0, E(DType.Int64, 0), E(d, 0));
                Try(() => b.ScatterAdd(E(d, 0), 0, E(DType.Int64, 0), E(d, 0)));
                var g = new Generator(0);
                Try(() => b.FillUniform(E(d, 0), g, 0, 1));
                Try(() => b.FillNormal(E(d, 0), g, 0, 1));
                b.FillBernoulli(E(d, 0), g, 0.5);
            }
            foreach (var d in new[] { DType.Float32, DType.Float64 })
            {
                var conv = new Conv2dParams(1, 1, 0, 0, 1, 1, 1);
                b.Conv2d(E(d, 0, 1, 1, 1), E(d, 1, 1, 1, 1), E(d, 0, 1, 1, 1), conv);
                b.Conv2dBackwardInput(E(d, 0, 1, 1, 1), E(d, 1, 1, 1, 1), E(d, 0, 1, 1, 1), conv);
                b.Conv2dBackwardWeight(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), E(d, 1, 1, 1, 1), conv);
                var pool = new Pool2dParams(1, 1, 1, 1, 0, 0);
                b.MaxPool2d(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), E(DType.Int64, 0, 1, 1, 1), pool);
                b.MaxPool2dBackward(E(d, 0, 1, 1, 1), E(DType.Int64, 0, 1, 1, 1), E(d, 0, 1, 1, 1), pool);
                b.AvgPool2d(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), pool);
                b.AvgPool2dBackward(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), pool);
                ((IMaxPoolValues)b).MaxPool2dValues(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), pool);
                ((IConvBiasFusion)b).Conv2dBias(E(d, 0, 1, 1, 1), E(d, 1, 1, 1, 1), E(d, 1), E(d, 0, 1, 1, 1), conv);
                ((IConvBiasFusion)b).Conv2dBiasGrad(E(d, 0, 0, 1, 1), E(d, 0));
                b.AdamUpdate(E(d, 0), E(d, 0), E(d, 0), E(d, 0), E(d, 0), new FusedAdamParams(default, 0.9, 0.999, 1e-8, 1, -1, 1));
                b.SgdUpdate(E(d, 0), E(d, 0), E(d, 0), new FusedSgdParams(default, 1, 0.9, 0, false, false));
                WarmCrossEntropy(b, d, E);
                b.AttentionForward(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), null, false, 1, AttentionDropout.None, E(d, 0, 1, 1, 1), E(d, 0, 1, 1));
                b.AttentionBackward(E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), null, false, 1, AttentionDropout.None, E(d, 0, 1, 1, 1), E(d, 0, 1, 1),
                    E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1), E(d, 0, 1, 1, 1));
            }
        }
        finally
        {
            foreach (var s in empty.Values) s.Release();
        }
    }

    // Zero rows with per-sample losses: the forward only writes the divisor into `saved`, which needs one real element.
    static void WarmCrossEntropy(IlgpuBackend b, DType d, Func<DType, int[], BufferView> empty)
    {
        var saved = b.Allocate(d, 1);
        try
        {
            var savedView = BufferView.Contiguous(saved, [1]);
            foreach (var t in new[] { DType.Int64, DType.Int32 })
            {
                b.CrossEntropyForward(empty(d, [0, 1]), empty(t, [0]), -100, false, savedView, empty(d, [0]));
                b.CrossEntropyBackward(empty(d, [0, 1]), empty(t, [0]), -100, savedView, empty(d, [0]), empty(d, [0, 1]));
            }
        }
        finally
        {
            saved.Release();
        }
    }

    // Combinations an op does not define (e.g. Exp on Int32) are rejected before any kernel is chosen.
    static void Try(Action run)
    {
        try
        {
            run();
        }
        catch (ArgumentException)
        {
        }
    }
}
