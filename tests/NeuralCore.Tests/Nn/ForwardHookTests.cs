using NeuralCore.Nn;

namespace NeuralCore.Tests.Nn;

public sealed class ForwardHookTests
{
    [Fact]
    public void Hooks_see_input_and_output_and_may_replace_the_output()
    {
        var layer = new Linear(3, 2);
        var model = new Sequential(layer, new ReLU());
        var seen = new List<(Module, Tensor, Tensor)>();
        using (layer.RegisterForwardHook((m, x, y) => { seen.Add((m, x, y)); return y.Mul(0); }))
        {
            var input = Tensor.Randn(4, 3);
            var output = model.Forward(input);
            Assert.Single(seen);
            Assert.Same(layer, seen[0].Item1);
            Assert.Same(input, seen[0].Item2);
            Assert.Equal([4L, 2L], seen[0].Item3.Shape.ToArray());
            Assert.All(output.ToArray<float>(), v => Assert.Equal(0f, v));
        }
        // Disposed: no longer called, output unchanged.
        var again = model.Forward(Tensor.Ones(1, 3));
        Assert.Single(seen);
        Assert.Equal(layer.Forward(Tensor.Ones(1, 3)).Relu().ToArray<float>(), again.ToArray<float>());
    }

    [Fact]
    public void Hooks_run_in_registration_order_through_call()
    {
        var layer = new Tanh();
        var order = new List<int>();
        using var a = layer.RegisterForwardHook((_, _, y) => { order.Add(1); return y; });
        using var b = layer.RegisterForwardHook((_, _, y) => { order.Add(2); return y.Add(1); });
        var y = layer.Call(Tensor.Zeros(2));
        Assert.Equal([1, 2], order);
        Assert.Equal([1f, 1f], y.ToArray<float>());
        // Forward alone bypasses the hooks.
        layer.Forward(Tensor.Zeros(2));
        Assert.Equal(2, order.Count);
    }
}
