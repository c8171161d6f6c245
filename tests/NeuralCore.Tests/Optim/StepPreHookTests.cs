using NeuralCore.Optim;

namespace NeuralCore.Tests.Optim;

public sealed class StepPreHookTests
{
    [Fact]
    public void Pre_hook_runs_before_the_update_and_can_replace_gradients()
    {
        var w = Tensor.Ones(3).RequiresGrad_();
        var opt = new Sgd([w], lr: 1);
        w.Grad = Tensor.Ones(3);
        int calls = 0;
        using (opt.RegisterStepPreHook(o =>
        {
            calls++;
            Assert.Same(opt, o);
            Assert.Equal([1f, 1f, 1f], w.ToArray<float>()); // not updated yet
            w.Grad = Tensor.FromArray(new float[] { 0, 2, 4 }, 3);
        }))
            opt.Step();
        Assert.Equal(1, calls);
        Assert.Equal([1f, -1f, -3f], w.ToArray<float>());
        w.Grad = Tensor.Ones(3);
        opt.Step(); // removed
        Assert.Equal(1, calls);
        Assert.Equal([0f, -2f, -4f], w.ToArray<float>());
    }
}
