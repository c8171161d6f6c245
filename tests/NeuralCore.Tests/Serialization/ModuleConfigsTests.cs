using System.Text.Json.Nodes;
using NeuralCore.Nn;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

public class ModuleConfigsTests
{
    /// <summary>A user layer: y = x * factor, with a learnable offset.</summary>
    sealed class ScaleShift : Module
    {
        public ScaleShift(double factor, int features)
        {
            Factor = factor;
            Features = features;
            RegisterParameter("offset", Tensor.Randn(features));
        }

        public double Factor { get; }
        public int Features { get; }

        public override Tensor Forward(Tensor x) => x * (float)Factor + GetParameter("offset")!;
    }

    sealed class NotRegistered : Module
    {
        public override Tensor Forward(Tensor x) => x;
    }

    static ModuleConfigsTests() => ModuleConfigs.Register<ScaleShift>("Tests.ScaleShift",
        s => new JsonObject { ["factor"] = s.Factor, ["features"] = s.Features },
        c =>
        {
            int features = c.GetInt32("features");
            c.ReserveParameters(features);
            return new ScaleShift(c.GetDouble("factor"), features);
        });

    [Fact]
    public void Describe_WritesTypeAndSettings()
    {
        var json = ModuleConfigs.Describe(new Sequential(new Flatten(), new Dense(64, Activation.Relu), new Dropout(0.1), new LeakyReLU(0.3)));
        Assert.Equal(
            "{\"type\":\"Sequential\",\"layers\":[{\"type\":\"Flatten\",\"startDim\":1,\"endDim\":-1}," +
            "{\"type\":\"Dense\",\"units\":64,\"activation\":\"Relu\",\"useBias\":true,\"inFeatures\":null}," +
            "{\"type\":\"Dropout\",\"p\":0.1},{\"type\":\"LeakyReLU\",\"negativeSlope\":0.3}]}",
            json.ToJsonString());
    }

    [Fact]
    public void RegisteredUserLayer_SavesAndLoadsInsideASequential()
    {
        var model = new Sequential(new Linear(3, 2), new ScaleShift(2.5, 2));
        var x = Tensor.Randn(4, 3);
        string path = Path.Combine(Path.GetTempPath(), $"nc-user-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var again = Sequential.Load(path);
            var layer = Assert.IsType<ScaleShift>(again[1]);
            Assert.Equal(2.5, layer.Factor);
            Assert.Equal(model.Forward(x).ToArray<float>(), again.Forward(x).ToArray<float>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnregisteredTypes_CannotBeDescribed()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ModuleConfigs.Describe(new Sequential(new NotRegistered())));
        Assert.Contains("NotRegistered has no architecture entry; register it with ModuleConfigs.Register", e.Message);
        Assert.Null(ModuleConfigs.TryDescribe(new Sequential(new ReLU(), new NotRegistered())));
        Assert.NotNull(ModuleConfigs.TryDescribe(new Sequential(new ReLU())));
    }

    [Fact]
    public void Register_RejectsConflicts()
    {
        Assert.True(ModuleConfigs.IsRegistered("Dense"));
        Assert.False(ModuleConfigs.IsRegistered("NotRegistered"));
        Assert.Throws<ArgumentException>(() => ModuleConfigs.Register<NotRegistered>("Dense", _ => [], _ => new NotRegistered()));
        Assert.Throws<ArgumentException>(() => ModuleConfigs.Register<ScaleShift>("Other.Name", _ => [], _ => new ScaleShift(1, 1)));
        Assert.Throws<ArgumentException>(() => ModuleConfigs.Register<NotRegistered>(" ", _ => [], _ => new NotRegistered()));
    }

    [Fact]
    public void Create_ChecksTheParameterBudget()
    {
        var config = new JsonObject { ["type"] = "Linear", ["inFeatures"] = 10, ["outFeatures"] = 10 };
        Assert.IsType<Linear>(ModuleConfigs.Create(config, maxParameterElements: 110));
        var e = Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(config, maxParameterElements: 109));
        Assert.Contains("more than the 109 the weights hold", e.Message);
    }

    [Fact]
    public void Create_NullMomentumMeansCumulativeAverage()
    {
        var cumulative = (BatchNorm2d)ModuleConfigs.Create(new JsonObject { ["type"] = "BatchNorm2d", ["numFeatures"] = 3, ["momentum"] = null });
        Assert.Null(cumulative.Momentum);
        var byDefault = (BatchNorm2d)ModuleConfigs.Create(new JsonObject { ["type"] = "BatchNorm2d", ["numFeatures"] = 3 });
        Assert.Equal(0.1, byDefault.Momentum);
        var pool = (MaxPool2d)ModuleConfigs.Create(new JsonObject { ["type"] = "MaxPool2d", ["kernelSize"] = 3 });
        Assert.Equal(((3, 3), (3, 3)), (pool.KernelSize, pool.Stride));
    }
}
