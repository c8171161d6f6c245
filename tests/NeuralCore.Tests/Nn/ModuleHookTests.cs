using NeuralCore.Nn;

namespace NeuralCore.Tests.Nn;

public class ModuleHookTests
{
    sealed class Chain : Module
    {
        public readonly Linear Fc1 = new(3, 4), Fc2 = new(4, 2);

        public Chain() => RegisterModules(("fc1", Fc1), ("fc2", Fc2));

        public override Tensor Forward(Tensor x) => Fc2.Call(Fc1.Call(x).Relu());
    }

    [Fact]
    public void HookSeesInputAndOutputOfSequentialChild()
    {
        var fc = new Linear(3, 2);
        var model = new Sequential(new ReLU(), fc);
        var x = Tensor.FromArray(new[] { -1f, 2f, 3f }, 1, 3);
        Tensor? seenIn = null, seenOut = null;
        Module? seenModule = null;
        using (fc.RegisterForwardHook((m, i, o) => { seenModule = m; seenIn = i; seenOut = o; return null; }))
        {
            var y = model.Forward(x);
            Assert.Same(fc, seenModule);
            Assert.Equal(new[] { 0f, 2f, 3f }, seenIn!.ToArray<float>());
            Assert.Same(y, seenOut);
        }
        seenModule = null;
        model.Forward(x);
        Assert.Null(seenModule);   // disposed handle removes the hook
    }

    [Fact]
    public void HookCanReplaceOutputAndGradientsFlowThroughReplacement()
    {
        var model = new Chain();
        var x = Tensor.Randn(2, 3);
        Tensor? leaf = null;
        using var handle = model.Fc1.RegisterForwardHook((_, _, o) => leaf = o.Detach().RequiresGrad_());
        var y = model.Forward(x);
        y.Sum().Backward();
        Assert.NotNull(leaf!.Grad);
        Assert.Equal(new long[] { 2, 4 }, leaf.Grad!.Shape.ToArray());
        // d sum(fc2(relu(a))) / d a = (fc2.weight summed over outputs) masked by a > 0.
        var w = model.Fc2.Weight.Sum(0).ToArray<float>();
        var a = leaf.ToArray<float>();
        var g = leaf.Grad.ToArray<float>();
        for (int i = 0; i < g.Length; i++) Assert.Equal(a[i] > 0 ? w[i % 4] : 0f, g[i], 5);
        Assert.Null(model.Fc1.Weight.Grad);   // the graph was cut at the replaced output
    }

    [Fact]
    public void HooksChainInOrderAndForwardAloneSkipsThem()
    {
        var relu = new ReLU();
        var calls = new List<int>();
        using var h1 = relu.RegisterForwardHook((_, _, o) => { calls.Add(1); return o + 1f; });
        using var h2 = relu.RegisterForwardHook((_, _, o) => { calls.Add(2); return o * 2f; });
        var x = Tensor.FromArray(new[] { -1f, 1f }, 2);
        Assert.Equal(new[] { 2f, 4f }, relu.Call(x).ToArray<float>());
        Assert.Equal(new[] { 1, 2 }, calls);
        Assert.Equal(new[] { 0f, 1f }, relu.Forward(x).ToArray<float>());
        Assert.Equal(2, calls.Count);
        Assert.Throws<ArgumentNullException>(() => relu.RegisterForwardHook(null!));
    }
}
