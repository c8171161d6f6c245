using NeuralCore.Nn;

namespace NeuralCore.Tests.Nn;

public sealed class ActivationNameTests
{
    static readonly float[] Inputs = [-3f, -1f, -0.25f, 0f, 0.5f, 2f];

    static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    public static TheoryData<string, Activation> Names => new()
    {
        { "relu", Activation.Relu }, { "RELU", Activation.Relu }, { "sigmoid", Activation.Sigmoid }, { "tanh", Activation.Tanh },
        { "softmax", Activation.Softmax }, { "gelu", Activation.Gelu }, { "silu", Activation.Silu }, { "swish", Activation.Silu },
        { "elu", Activation.Elu }, { "selu", Activation.Selu }, { "leaky_relu", Activation.LeakyRelu },
        { "softplus", Activation.Softplus }, { "linear", Activation.None },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void KerasNames_MapToTheirActivation(string name, Activation expected)
    {
        Assert.Equal(expected, Activations.FromName(name));
        Assert.Equal(expected, new Dense(4, activation: name).ActivationFunction);
    }

    [Fact]
    public void NullOrEmptyName_MeansNoActivation()
    {
        Assert.Equal(Activation.None, Activations.FromName(null));
        Assert.Equal(Activation.None, new Dense(3, 4, activation: "").ActivationFunction);
    }

    [Fact]
    public void UnknownName_ListsTheValidOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dense(4, activation: "rellu"));
        Assert.Contains("\"rellu\"", e.Message);
        Assert.Contains("leaky_relu", e.Message);
        Assert.Contains("softplus", e.Message);
    }

    public static TheoryData<Activation> NewActivations => [Activation.Silu, Activation.Elu, Activation.Selu, Activation.LeakyRelu, Activation.Softplus];

    static double Reference(Activation a, double v) => a switch
    {
        Activation.Silu => v * Sigmoid(v),
        Activation.Elu => v > 0 ? v : Math.Exp(v) - 1,
        Activation.Selu => 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (Math.Exp(v) - 1)),
        Activation.LeakyRelu => v > 0 ? v : 0.2 * v,
        Activation.Softplus => Math.Log(1 + Math.Exp(v)),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    [Theory]
    [MemberData(nameof(NewActivations))]
    public void DenseAndModuleForms_ComputeTheFormula(Activation activation)
    {
        // An identity Dense (weight I, bias 0) shows the activation alone; the module form must agree.
        var dense = new Dense(6, 6, activation);
        using (Tensor.NoGrad())
        {
            var linear = Assert.IsType<Linear>(dense.NamedChildren().Single().Module);
            linear.Weight.Copy_(Tensor.Eye(6));
            linear.Bias!.Copy_(Tensor.Zeros([6]));
        }
        var x = Tensor.FromArray(Inputs, 1, 6);
        var viaDense = dense.Forward(x).ToArray<float>();
        var viaModule = Activations.ToModule(activation)!.Forward(x).ToArray<float>();
        for (int i = 0; i < Inputs.Length; i++)
        {
            Assert.Equal(Reference(activation, Inputs[i]), viaDense[i], 1e-6);
            Assert.Equal(viaDense[i], viaModule[i], 1e-7);
        }
    }

    [Theory]
    [MemberData(nameof(NewActivations))]
    public void DenseWithNewActivation_SavesAndReloads(Activation activation)
    {
        string dir = Directory.CreateTempSubdirectory("dense-activation-").FullName;
        try
        {
            Rng.ManualSeed(4);
            var model = new Sequential(new Dense(5, 3, activation), new Dense(2));
            var x = Tensor.Randn([4, 5]);
            var expected = model.Forward(x).ToArray<float>();
            string path = Path.Combine(dir, "m.safetensors");
            model.Save(path);

            var loaded = Sequential.Load(path);

            Assert.Equal(activation, Assert.IsType<Dense>(loaded.NamedChildren().First().Module).ActivationFunction);
            Assert.Equal(expected, loaded.Forward(x).ToArray<float>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeluGradient_MatchesTheDerivative()
    {
        var x = Tensor.FromArray(Inputs, 6).RequiresGrad_();
        new SELU().Forward(x).Sum().Backward();
        var g = x.Grad!.ToArray<float>();
        for (int i = 0; i < Inputs.Length; i++)
        {
            double v = Inputs[i];
            double expected = 1.0507009873554805 * (v > 0 ? 1 : 1.6732632423543772 * Math.Exp(v));
            Assert.Equal(expected, g[i], 1e-5);
        }
    }
}
