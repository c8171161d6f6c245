using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.PyTorchReferences;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// ModuleList, ModuleDict, Identity, Dropout2d, ConvTranspose2d and Upsample/Interpolate: against PyTorch-made
/// references (values and gradients), gradcheck, bad arguments, and save/load inside a Sequential.
/// </summary>
public sealed class EverydayModuleTests
{
    sealed class TwoBranches : Module
    {
        public TwoBranches()
        {
            Blocks = new ModuleList(new Linear(3, 4), new Linear(4, 2));
            Heads = new ModuleDict(("relu", new ReLU()), ("tanh", new Tanh()));
            RegisterModules(("blocks", Blocks), ("heads", Heads));
        }

        public ModuleList Blocks { get; }

        public ModuleDict Heads { get; }

        public override Tensor Forward(Tensor x)
        {
            foreach (var b in Blocks) x = Heads["tanh"].Forward(b.Forward(x));
            return x;
        }
    }

    [Fact]
    public void ModuleListAndDict_RegisterChildren_WithPyTorchStateDictKeys()
    {
        var m = new TwoBranches();
        Assert.Equal(["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"], m.StateDict().Keys.ToArray());
        Assert.Equal(4, m.Parameters().Count());
        Assert.Equal(2, m.Blocks.Count);
        Assert.Same(m.Blocks[1], m.Blocks[-1]);
        Assert.IsType<Linear>(m.Blocks[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Blocks[2]);
        Assert.Equal(["relu", "tanh"], m.Heads.Keys.ToArray());
        Assert.True(m.Heads.ContainsKey("relu"));
        Assert.IsType<Tanh>(m.Heads["tanh"]);
        Assert.Contains("relu, tanh", Assert.Throws<KeyNotFoundException>(() => m.Heads["gelu"]).Message);
        Assert.Equal([2L, 2L], m.Forward(Tensor.Randn(2, 3)).Shape.ToArray());
        m.Eval();
        Assert.False(m.Blocks[0].IsTraining);
        m.Blocks.Add(new Linear(2, 2));
        Assert.Contains("blocks.2.weight", m.StateDict().Keys);
        Assert.Throws<ArgumentException>(() => m.Heads.Add("relu", new ReLU()));
        Assert.Throws<ArgumentException>(() => m.Heads.Add("a.b", new ReLU()));
        Assert.Throws<InvalidOperationException>(() => m.Blocks.Forward(Tensor.Zeros(1)));
        Assert.Throws<InvalidOperationException>(() => m.Heads.Forward(Tensor.Zeros(1)));
    }

    [Fact]
    public void Identity_ReturnsItsInput()
    {
        var x = Tensor.Randn(2, 3);
        Assert.Same(x, new Identity().Forward(x));
    }

    [Fact]
    public void Dropout2d_DropsWholeChannels_AndScalesTheRest()
    {
        Rng.ManualSeed(7);
        var x = Tensor.Ones(8, 16, 3, 5);
        var y = F.Dropout2d(x, 0.5).ToArray4D();
        int kept = 0, dropped = 0;
        for (int n = 0; n < 8; n++)
            for (int c = 0; c < 16; c++)
            {
                var first = y[n, c, 0, 0];
                Assert.True(first is 0f or 2f, $"value {first}");
                for (int h = 0; h < 3; h++)
                    for (int w = 0; w < 5; w++) Assert.Equal(first, y[n, c, h, w]);
                if (first == 0) dropped++;
                else kept++;
            }
        Assert.True(kept > 30 && dropped > 30, $"kept {kept}, dropped {dropped} of 128 channels");
        var layer = new Dropout2d(0.3);
        layer.Eval();
        Assert.Same(x, layer.Forward(x));
        Assert.Equal([4L, 3L, 5L], F.Dropout2d(Tensor.Ones(4, 3, 5), 0.5).Shape.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout2d(1.5));
        Assert.Contains("[N, C, H, W]", Assert.Throws<ArgumentException>(() => F.Dropout2d(Tensor.Ones(4, 5), 0.5)).Message);
    }

    public static TheoryData<string> ConvTransposeCases() => Names("convTranspose2d");

    public static TheoryData<string> InterpolateCases() => Names("interpolate");

    static TheoryData<string> Names(string family)
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases(family)) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(ConvTransposeCases))]
    public void ConvTranspose2d_MatchesPyTorch_ValuesAndGradients(string name)
    {
        var c = Cases("convTranspose2d").First(e => e.GetProperty("name").GetString() == name);
        var x = Tensor(c, "x").RequiresGrad_();
        var w = Tensor(c, "w").RequiresGrad_();
        var b = c.TryGetProperty("b", out var bj) ? Tensor(bj).RequiresGrad_() : null;
        var y = F.ConvTranspose2d(x, w, b, Pair(c, "stride"), Pair(c, "padding"), Pair(c, "outputPadding"), c.GetProperty("groups").GetInt32(), Pair(c, "dilation"));
        AssertClose(Tensor(c, "y"), y, 1e-11, 1e-11, name);
        (y * Tensor(c, "g")).Sum().Backward();
        AssertClose(Tensor(c, "dx"), x.Grad!, 1e-11, 1e-11, name + " dx");
        AssertClose(Tensor(c, "dw"), w.Grad!, 1e-11, 1e-11, name + " dw");
        if (b is not null) AssertClose(Tensor(c, "db"), b.Grad!, 1e-11, 1e-11, name + " db");
    }

    [Fact]
    public void ConvTranspose2d_GradChecks_AndLayerHasPyTorchShapes()
    {
        var x = Tensor.Randn([2, 4, 3, 2], DType.Float64);
        var w = Tensor.Randn([4, 1, 2, 3], DType.Float64);
        var b = Tensor.Randn([2], DType.Float64);
        GradCheck.Assert(t => F.ConvTranspose2d(t[0], t[1], t[2], (2, 1), (1, 0), (1, 0), 2, (1, 2)), [x, w, b]);

        var layer = new ConvTranspose2d(6, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2);
        Assert.Equal([6L, 2L, 3L, 3L], layer.Weight.Shape.ToArray());
        Assert.Equal([4L], layer.Bias!.Shape.ToArray());
        Assert.Equal([5L, 4L, 8L, 10L], layer.Forward(Tensor.Randn(5, 6, 4, 5)).Shape.ToArray());
        Assert.Equal([4L, 8L, 10L], layer.Forward(Tensor.Randn(6, 4, 5)).Shape.ToArray());
        // PyTorch's bound: 1/sqrt(fanIn), fanIn = out/groups · kH · kW = 2·3·3.
        double bound = 1 / Math.Sqrt(18);
        Assert.All(layer.Bias.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void ConvTranspose2d_RejectsBadArguments()
    {
        var w = Tensor.Randn(4, 3, 3, 3);
        Assert.Contains("[2, 5, 4, 4]", Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(2, 5, 4, 4), w)).Message);
        Assert.Contains("output padding", Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(1, 4, 4, 4), w, stride: 2, outputPadding: 2)).Message);
        Assert.Contains("non-positive", Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(1, 4, 1, 1), w, padding: 2)).Message);
        Assert.Contains("groups", Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(1, 4, 4, 4), w, groups: 3)).Message);
        Assert.Contains("bias", Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(1, 4, 4, 4), w, Tensor.Zeros(4))).Message);
        Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(4, 4), w));
        Assert.Throws<ArgumentException>(() => new ConvTranspose2d(4, 6, 3, groups: 4));
        Assert.Throws<ArgumentException>(() => new ConvTranspose2d(4, 6, 3, stride: 2, outputPadding: 2));
    }

    [Theory]
    [MemberData(nameof(InterpolateCases))]
    public void Interpolate_MatchesPyTorch_ValuesAndGradients(string name)
    {
        var c = Cases("interpolate").First(e => e.GetProperty("name").GetString() == name);
        var x = Tensor(c, "x").RequiresGrad_();
        (int, int)? size = c.GetProperty("size").ValueKind == System.Text.Json.JsonValueKind.Null ? null : Pair(c, "size");
        (double, double)? scale = null;
        if (c.GetProperty("scale").ValueKind != System.Text.Json.JsonValueKind.Null)
        {
            var s = c.GetProperty("scale").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            scale = (s[0], s[1]);
        }
        bool? align = c.GetProperty("alignCorners").ValueKind == System.Text.Json.JsonValueKind.Null ? null : c.GetProperty("alignCorners").GetBoolean();
        var y = F.Interpolate(x, size, scale, c.GetProperty("mode").GetString()!, align);
        AssertClose(Tensor(c, "y"), y, 1e-12, 1e-12, name);
        (y * Tensor(c, "g")).Sum().Backward();
        AssertClose(Tensor(c, "dx"), x.Grad!, 1e-12, 1e-12, name + " dx");
    }

    [Fact]
    public void Interpolate_HandComputed_GradChecks_AndErrors()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 1, 2, 2);
        Assert.Equal([1f, 1f, 2f, 2f, 1f, 1f, 2f, 2f, 3f, 3f, 4f, 4f, 3f, 3f, 4f, 4f], new Upsample(2).Forward(x).ToArray<float>());
        // Aligned corners on 2 → 3 puts the middle sample halfway between the corners.
        Assert.Equal([1f, 1.5f, 2f, 2f, 2.5f, 3f, 3f, 3.5f, 4f], F.Interpolate(x, (3, 3), mode: "bilinear", alignCorners: true).ToArray<float>());
        var xd = Tensor.Randn([1, 2, 3, 4], DType.Float64);
        GradCheck.Assert(t => F.Interpolate(t[0], (5, 3), mode: "bilinear"), [xd]);
        GradCheck.Assert(t => F.Interpolate(t[0], scaleFactor: (2, 1.5), mode: "bilinear", alignCorners: true), [xd]);
        GradCheck.Assert(t => F.Interpolate(t[0], (4, 7)), [xd]);
        Assert.Contains("exactly one", Assert.Throws<ArgumentException>(() => F.Interpolate(x)).Message);
        Assert.Contains("exactly one", Assert.Throws<ArgumentException>(() => F.Interpolate(x, (2, 2), (2, 2))).Message);
        Assert.Contains("mode", Assert.Throws<ArgumentException>(() => F.Interpolate(x, (2, 2), mode: "bicubic")).Message);
        Assert.Contains("alignCorners", Assert.Throws<ArgumentException>(() => F.Interpolate(x, (2, 2), alignCorners: true)).Message);
        Assert.Contains("4-d", Assert.Throws<ArgumentException>(() => F.Interpolate(Tensor.Ones(2, 2), (2, 2))).Message);
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => F.Interpolate(x, (0, 2))).Message);
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => F.Interpolate(x, scaleFactor: (-1, 2))).Message);
        Assert.Throws<ArgumentException>(() => new Upsample(size: (2, 2), scaleFactor: (2, 2)));
    }

    [Fact]
    public void NewLayers_SaveAndLoadInsideASequential()
    {
        var model = new Sequential(
            new ConvTranspose2d(2, 4, (3, 2), (2, 1), (1, 0), (1, 0), groups: 2, bias: true, dilation: (1, 2)),
            new Identity(),
            new Dropout2d(0.25),
            new Upsample(size: (9, 5), mode: "bilinear", alignCorners: true),
            new Upsample(0.5));
        model.Eval();
        var x = Tensor.Randn(2, 2, 3, 3);
        string path = Path.Combine(Path.GetTempPath(), $"nc-everyday-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var again = Sequential.Load(path);
            again.Eval();
            var ct = Assert.IsType<ConvTranspose2d>(again[0]);
            Assert.Equal((1, 0), ct.OutputPadding);
            Assert.Equal((1, 2), ct.Dilation);
            Assert.Equal(2, ct.Groups);
            Assert.IsType<Identity>(again[1]);
            Assert.Equal(0.25, Assert.IsType<Dropout2d>(again[2]).P);
            var up = Assert.IsType<Upsample>(again[3]);
            Assert.Equal((9, 5), up.Size);
            Assert.True(up.AlignCorners ?? false);
            Assert.Equal((0.5, 0.5), Assert.IsType<Upsample>(again[4]).ScaleFactor);
            Assert.Equal(model.Forward(x).ToArray<float>(), again.Forward(x).ToArray<float>());
        }
        finally
        {
            File.Delete(path);
        }
    }
}

internal static class FourD
{
    public static float[,,,] ToArray4D(this Tensor t)
    {
        var flat = t.ToArray<float>();
        var r = new float[t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]];
        int i = 0;
        for (int a = 0; a < r.GetLength(0); a++)
            for (int b = 0; b < r.GetLength(1); b++)
                for (int c = 0; c < r.GetLength(2); c++)
                    for (int d = 0; d < r.GetLength(3); d++) r[a, b, c, d] = flat[i++];
        return r;
    }
}
