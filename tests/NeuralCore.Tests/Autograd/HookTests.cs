namespace NeuralCore.Tests.Autograd;

public class HookTests
{
    [Fact]
    public void PostAccumulateHookSeesTheWholeGradientOncePerPass()
    {
        var w = Tensor.FromArray(new float[] { 2 }, 1).RequiresGrad_();
        var seen = new List<float>();
        var order = new List<string>();
        using (w.RegisterPostAccumulateGradHook(p =>
               {
                   seen.Add(p.Grad!.ToArray<float>()[0]);
                   order.Add("hook");
                   Tensor.QueueBackwardCallback(() => order.Add("callback"));
               }))
        {
            // w is used three times: d(w·w + 3w)/dw = 2w + 3 = 7, delivered in one call.
            ((w * w) + w * 3).Sum().Backward();
            Assert.Equal([7f], seen);
            Assert.Equal(["hook", "callback"], order);
            // A second pass accumulates onto the first: the hook sees 14.
            ((w * w) + w * 3).Sum().Backward();
            Assert.Equal([7f, 14f], seen);
        }
        ((w * w) + w * 3).Sum().Backward();
        Assert.Equal(2, seen.Count); // the disposed hook no longer runs
        Assert.Equal(21f, w.Grad!.ToArray<float>()[0]);
    }

    [Fact]
    public void HookRunsForALeafRootAndOnlyForLeavesThePassReaches()
    {
        var a = Tensor.FromArray(new float[] { 1, 2 }).RequiresGrad_();
        var b = Tensor.FromArray(new float[] { 3, 4 }).RequiresGrad_();
        int aCalls = 0, bCalls = 0;
        a.RegisterPostAccumulateGradHook(_ => aCalls++);
        b.RegisterPostAccumulateGradHook(_ => bCalls++);
        (a * 2).Sum().Backward();
        Assert.Equal((1, 0), (aCalls, bCalls));
        b.Backward(Tensor.Ones(2));
        Assert.Equal((1, 1), (aCalls, bCalls));
    }

    [Fact]
    public void MisuseIsReportedWithTheReason()
    {
        var w = Tensor.Ones(2).RequiresGrad_();
        Assert.Contains("no backward pass is running", Assert.Throws<InvalidOperationException>(() => Tensor.QueueBackwardCallback(() => { })).Message);
        Assert.Contains("produced by", Assert.Throws<InvalidOperationException>(() => (w * 2).RegisterPostAccumulateGradHook(_ => { })).Message);
        Assert.Contains("without RequiresGrad", Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).RegisterPostAccumulateGradHook(_ => { })).Message);
    }

    [Fact]
    public void RecordFunctionRoutesGradientsThroughTheUserBackward()
    {
        var x = Tensor.FromArray(new float[] { 1, -2, 3 }).RequiresGrad_();
        var y = Tensor.FromArray(new float[] { 4, 5, 6 }).RequiresGrad_();
        Tensor product;
        using (Tensor.NoGrad()) product = x * y;
        // A hand-written product rule: d(xy)/dx = y, d(xy)/dy = x.
        var z = Tensor.RecordFunction("Product", product, [x, y], g => [g * y.Detach(), g * x.Detach()]);
        Assert.Equal("ProductBackward", z.GradFnName);
        (z * z).Sum().Backward(); // d/dx of (xy)^2 = 2xy·y
        Assert.Equal([32f, -100f, 216f], x.Grad!.ToArray<float>());
        Assert.Equal([8f, 40f, 108f], y.Grad!.ToArray<float>()); // 2x²y

        Tensor plain;
        using (Tensor.NoGrad()) plain = Tensor.RecordFunction("Product", product.Clone(), [x, y], g => [g, g]);
        Assert.Null(plain.GradFnName); // nothing is recorded with grad mode off
        Assert.Throws<ArgumentException>(() => Tensor.RecordFunction("Twice", z, [x], g => [g]));
    }
}
