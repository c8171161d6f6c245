using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Tests.Optim;

public class OptimizerStateDictTests
{
    static readonly Tensor X = Tensor.FromArray(new float[] { 0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f, -2f, 1f, 0.1f, 0.3f, -0.2f, 0.9f }, 4, 3);
    static readonly Tensor Y = Tensor.FromArray(new float[] { 1f, 0f, -1f, 2f, 0.5f, 0.5f, -0.5f, 1f }, 4, 2);

    static void Train(Module model, Optimizer opt, int steps)
    {
        for (int s = 0; s < steps; s++)
        {
            opt.ZeroGrad();
            (model.Forward(X) - Y).Square().Mean().Backward();
            opt.Step();
        }
    }

    static Dictionary<string, Tensor> Snapshot(Module model)
    {
        using (Tensor.NoGrad())
            return model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
    }

    static Optimizer Make(string kind, Linear model) => kind switch
    {
        "sgd" => new Sgd([new ParamGroup([model.Weight]) { L1 = 1e-3 }, new ParamGroup([model.Bias!]) { Lr = 0.05 }],
            lr: 0.02, momentum: 0.9, nesterov: true),
        "adam" => new Adam([new ParamGroup([model.Weight]) { L2 = 1e-2 }, new ParamGroup([model.Bias!]) { Lr = 0.05 }],
            lr: 0.01, amsgrad: true),
        "adamw" => new AdamW(model.Parameters(), lr: 0.01),
        _ => new RMSprop(model.Parameters(), lr: 0.01, momentum: 0.5, centered: true),
    };

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("rmsprop")]
    public void SaveAndRestore_ResumesBitIdentically(string kind)
    {
        var model = new Linear(3, 2);
        var opt = Make(kind, model);
        Train(model, opt, 5);
        var savedModel = Snapshot(model);
        // Rates changed as a scheduler would: the snapshot must carry them.
        if (opt.ParamGroups[^1].Lr is not null) opt.ParamGroups[^1].Lr = 0.03;
        opt.Lr *= 0.5;
        var savedOpt = opt.StateDict();
        Train(model, opt, 5);

        var fresh = new Linear(3, 2);
        fresh.LoadStateDict(savedModel);
        var freshOpt = Make(kind, fresh);
        freshOpt.LoadStateDict(savedOpt);
        Train(fresh, freshOpt, 5);

        Assert.Equal(model.Weight.ToArray<float>(), fresh.Weight.ToArray<float>());
        Assert.Equal(model.Bias!.ToArray<float>(), fresh.Bias!.ToArray<float>());
        Assert.Equal(opt.ParamGroups.Select(opt.EffectiveLr), freshOpt.ParamGroups.Select(freshOpt.EffectiveLr));
    }

    [Fact]
    public void StateDict_HasDocumentedKeys_AndIsASnapshot()
    {
        var model = new Linear(3, 2);
        var opt = new Adam(model.Parameters(), lr: 0.01);
        Train(model, opt, 2);
        var state = opt.StateDict();
        Assert.Equal(
            new[] { "defaults.lr", "group.0.params", "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq" }.Order(),
            state.Keys.Order());
        Assert.Equal(2.0, state["state.0.step"].Item<double>());
        Assert.Equal(0.01, state["defaults.lr"].Item<double>());
        var expAvg = state["state.0.exp_avg"].ToArray<float>();
        Train(model, opt, 1);
        Assert.Equal(expAvg, state["state.0.exp_avg"].ToArray<float>());
        Assert.NotEqual(expAvg, opt.GetState(model.Weight)!.Tensors["exp_avg"].ToArray<float>());
    }

    [Fact]
    public void LoadStateDict_RejectsMismatchedSnapshots_WithoutChangingState()
    {
        var model = new Linear(3, 2);
        var opt = new Adam(model.Parameters(), lr: 0.01);
        Train(model, opt, 1);
        var good = opt.StateDict();

        var wrongShape = new Dictionary<string, Tensor>(good) { ["state.0.exp_avg"] = Tensor.Zeros(3, 2) };
        var ex = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(wrongShape));
        Assert.Contains("state.0.exp_avg", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);

        var missing = new Dictionary<string, Tensor>(good);
        missing.Remove("state.1.exp_avg_sq");
        Assert.Contains("missing key state.1.exp_avg_sq", Assert.Throws<ArgumentException>(() => opt.LoadStateDict(missing)).Message);

        var unexpected = new Dictionary<string, Tensor>(good) { ["state.0.momentum_buffer"] = Tensor.Zeros(2, 3), ["state.7.step"] = Tensor.Scalar(1) };
        ex = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(unexpected));
        Assert.Contains("state.0.momentum_buffer", ex.Message);
        Assert.Contains("state.7.step", ex.Message);

        var twoGroups = new Adam([new ParamGroup([model.Weight]), new ParamGroup([model.Bias!])]);
        Assert.Contains("group.1.params", Assert.Throws<ArgumentException>(() => twoGroups.LoadStateDict(good)).Message);

        var amsgrad = new Adam(model.Parameters(), amsgrad: true);
        Assert.Contains("max_exp_avg_sq", Assert.Throws<ArgumentException>(() => amsgrad.LoadStateDict(good)).Message);

        Assert.Equal(1, opt.GetState(model.Weight)!.Step);
        opt.LoadStateDict(good);
        Assert.Equal(1, opt.GetState(model.Weight)!.Step);
    }
}
