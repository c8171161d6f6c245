using Xunit.Abstractions;

namespace NeuralCore.Explain.Tests;

public class KernelShapTests(ITestOutputHelper output)
{
    [Fact]
    public void SampledValuesSumToOutputMinusExpectation()
    {
        var model = Models.Mlp(20, seed: 51);
        var x = Models.Randn(new Generator(52), 3, 20);
        var background = Models.Randn(new Generator(53), 10, 20);
        var r = KernelShap.Explain(model, x, background, target: 1, maxCoalitions: 300, generator: new Generator(54));
        var fbg = model.Forward(background).Narrow(1, 1, 1).Mean().Item<double>();
        var fx = model.Forward(x).Narrow(1, 1, 1).ToArray<double>();
        double worst = 0;
        for (int i = 0; i < 3; i++)
        {
            Assert.False(r[i].Exact);
            Assert.Equal(fbg, r[i].BaseValue, 5);
            Assert.Equal(fx[i], r[i].Output, 5);
            worst = Math.Max(worst, Math.Abs(r[i].Values.Sum() - (r[i].Output - r[i].BaseValue)));
        }
        output.WriteLine($"sampled (M = 20, 300 coalitions): max |Σφ − (f(x) − E[f])| = {worst:E2}");
        Assert.True(worst < 1e-9, $"efficiency gap {worst}");
    }

    [Fact]
    public void ExactEnumerationEqualsBruteForceShapleyValues()
    {
        const int m = 8;
        var model = Models.Mlp(m, seed: 61);
        var x = Models.Randn(new Generator(62), 1, m);
        var background = Models.Randn(new Generator(63), 5, m);
        var r = KernelShap.Explain(model, x, background, target: 0)[0];
        Assert.True(r.Exact);
        var brute = BruteForceShapley(model, x, background, m);
        double worst = 0;
        for (int j = 0; j < m; j++) worst = Math.Max(worst, Math.Abs(brute[j] - r.Values[j]));
        output.WriteLine($"exact enumeration (M = 8): max |φ − φ_bruteforce| = {worst:E2}; Σφ − (f(x) − E[f]) = {r.Values.Sum() - (r.Output - r.BaseValue):E2}");
        Assert.True(worst < 1e-5, $"max difference {worst}");
        Assert.Equal(r.Output - r.BaseValue, r.Values.Sum(), 9);
    }

    [Fact]
    public void SuperpixelGroupsOnAnImageModel()
    {
        var model = Models.Cnn(seed: 71);
        var x = Models.Randn(new Generator(72), 1, 1, 8, 8);
        var background = Tensor.Zeros(1, 1, 8, 8);
        var groups = FeatureGroups.Grid(1, 8, 8, patch: 4);
        Assert.Equal(4, groups.Max() + 1);
        var r = KernelShap.Explain(model, x, background, target: 2, featureGroups: groups)[0];
        Assert.True(r.Exact);
        Assert.Equal(4, r.Values.Length);
        Assert.Equal(r.Output - r.BaseValue, r.Values.Sum(), 9);
        var map = FeatureGroups.Expand(r.Values, groups, 1, 8, 8);
        Assert.Equal((float)r.Values[3], map[0, 7, 7].Item<float>());   // bottom-right patch
    }

    [Fact]
    public void BadGroupsAndShapesAreRejected()
    {
        var model = Models.Mlp(4, seed: 1);
        var x = Tensor.Zeros(1, 4);
        Assert.Throws<ArgumentException>(() => KernelShap.Explain(model, x, Tensor.Zeros(2, 5)));
        Assert.Throws<ArgumentException>(() => KernelShap.Explain(model, x, Tensor.Zeros(2, 4), featureGroups: [0, 0, 2, 2]));
        Assert.Throws<ArgumentException>(() => KernelShap.Explain(model, x, Tensor.Zeros(2, 4), featureGroups: [0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelShap.Explain(model, x, Tensor.Zeros(2, 4), target: 3));
    }

    // φ_j = Σ_{S ⊆ N∖{j}} |S|! (M − |S| − 1)! / M! · (v(S ∪ {j}) − v(S)), v(S) = mean over background of f(x_S, bg_¬S),
    // built here element by element on the CPU, independent of the library's masking.
    static double[] BruteForceShapley(Nn.Module model, Tensor x, Tensor background, int m)
    {
        var xs = x.ToArray<float>();
        var bg = background.ToArray<float>();
        int rows = (int)background.Shape[0];
        var v = new double[1 << m];
        var batch = new float[(1 << m) * rows * m];
        for (int s = 0; s < 1 << m; s++)
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < m; j++)
                    batch[(s * rows + r) * m + j] = (s >> j & 1) != 0 ? xs[j] : bg[r * m + j];
        var y = model.Forward(Tensor.FromArray(batch, (1 << m) * rows, m)).Narrow(1, 0, 1).ToArray<float>();
        for (int s = 0; s < 1 << m; s++) v[s] = y.Skip(s * rows).Take(rows).Average(f => (double)f);
        var fact = new double[m + 1];
        fact[0] = 1;
        for (int i = 1; i <= m; i++) fact[i] = fact[i - 1] * i;
        var phi = new double[m];
        for (int j = 0; j < m; j++)
            for (int s = 0; s < 1 << m; s++)
            {
                if ((s >> j & 1) != 0) continue;
                int size = System.Numerics.BitOperations.PopCount((uint)s);
                phi[j] += fact[size] * fact[m - size - 1] / fact[m] * (v[s | 1 << j] - v[s]);
            }
        return phi;
    }
}
