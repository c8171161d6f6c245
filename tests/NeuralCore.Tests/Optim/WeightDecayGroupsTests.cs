using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Tests.Optim;

public class WeightDecayGroupsTests
{
    [Fact]
    public void Split_DecaysWeightsButNotBiasesOrNormalization()
    {
        var linear = new Linear(4, 3);
        var norm = new LayerNorm(3);
        var batchNorm = new BatchNorm1d(3);
        var gru = new GRU(3, 2);
        var conv = new Conv1d(2, 2, 3, bias: false);
        var model = new Sequential(linear, norm, batchNorm, gru, conv);

        var groups = WeightDecayGroups.Split(model, weightDecay: 0.1);

        Assert.Equal(2, groups.Length);
        Tensor[] decays = [linear.Weight, gru.Parameter("weight_ih_l0")!, gru.Parameter("weight_hh_l0")!, conv.Weight];
        Tensor[] exempt = [linear.Bias!, norm.Weight!, norm.Bias!, batchNorm.Weight!, batchNorm.Bias!, gru.Parameter("bias_ih_l0")!, gru.Parameter("bias_hh_l0")!];
        Assert.Equal(decays, groups[0].Parameters);
        Assert.Equal(exempt, groups[1].Parameters);
        Assert.Equal(0.1, groups[0].WeightDecay);
        Assert.Equal(0.0, groups[1].WeightDecay);
        Assert.Null(WeightDecayGroups.Split(model)[0].WeightDecay);
    }

    [Fact]
    public void AdamW_WithTheGroups_ShrinksOnlyTheDecayingWeights()
    {
        var model = new Sequential(new Linear(3, 2), new LayerNorm(2));
        var before = model.Parameters().Select(p => p.ToArray<float>()).ToArray();
        var optimizer = new AdamW(WeightDecayGroups.Split(model), lr: 0.1, weightDecay: 0.5);
        foreach (var p in model.Parameters()) p.Grad = Tensor.ZerosLike(p);

        optimizer.Step();

        var after = model.Parameters().Select(p => p.ToArray<float>()).ToArray();
        // The weight (decaying group, the optimizer's 0.5) shrinks by 1 − lr·wd = 0.95; a zero gradient moves nothing else.
        Assert.Equal(before[0].Select(v => v * 0.95f), after[0], (a, b) => Math.Abs(a - b) < 1e-7);
        for (int i = 1; i < before.Length; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void Split_OfAModuleWithoutParameters_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => WeightDecayGroups.Split(new Sequential(new ReLU())));
        Assert.Contains("no parameters", e.Message);
    }
}
