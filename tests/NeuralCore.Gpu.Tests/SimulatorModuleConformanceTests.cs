using NeuralCore.Testing;

namespace NeuralCore.Gpu.Tests;

/// <summary>The layer, loss, optimizer and training part of the conformance suite on ILGPU's CPU accelerator.</summary>
public sealed class SimulatorModuleConformanceTests
{
    public static TheoryData<string> Cases => new(BackendConformance.ModuleCases.Select(c => c.Name));

    /// <summary>The fused fast paths each case must take on the device (besides matching the CPU).</summary>
    static readonly Dictionary<string, string[]> FusedPaths = new()
    {
        ["conv2d/padding1"] = ["Conv2dBias", "Conv2dBiasGrad"],
        ["conv2d/stride2-dilation2"] = ["Conv2dBias", "Conv2dBiasGrad"],
        ["conv2d/rectangular"] = ["Conv2dBias", "Conv2dBiasGrad"],
        ["conv2d/float64"] = ["Conv2dBias", "Conv2dBiasGrad"],
        ["maxpool2d/no-grad"] = ["MaxPool2dValues"],
        ["inference/conv-relu-pool"] = ["Conv2dBias", "MaxPool2dValues"],
        ["inference/conv-pool-float64"] = ["Conv2dBias", "MaxPool2dValues"],
        ["loss/cross-entropy"] = ["CrossEntropyForward", "CrossEntropyBackward"],
        ["loss/cross-entropy/ignore-index"] = ["CrossEntropyForward", "CrossEntropyBackward"],
        ["loss/cross-entropy/all-ignored-mean"] = ["CrossEntropyForward", "CrossEntropyBackward"],
        ["loss/cross-entropy/sum-int32"] = ["CrossEntropyForward", "CrossEntropyBackward"],
        ["loss/cross-entropy/per-sample"] = ["CrossEntropyForward", "CrossEntropyBackward"],
        ["optimizer/sgd"] = ["SgdUpdate"],
        ["optimizer/sgd-momentum-nesterov"] = ["SgdUpdate"],
        ["optimizer/sgd-dampening-maximize-penalties"] = ["SgdUpdate"],
        ["optimizer/adam"] = ["AdamUpdate"],
        ["optimizer/adam-amsgrad"] = ["AdamUpdate"],
        ["optimizer/adamw"] = ["AdamUpdate"],
        ["optimizer/adamw-amsgrad-penalties"] = ["AdamUpdate"],
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SimulatorMatchesCpu(string name)
    {
        var testCase = BackendConformance.ModuleCases.Single(c => c.Name == name);
        string[] fused = FusedPaths.GetValueOrDefault(name, []);
        var before = fused.Select(Simulator.Backend.FusedCalls).ToArray();

        var failures = new SimulatorBackendConformance().RunCase(testCase).ToList();

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        for (int i = 0; i < fused.Length; i++)
            Assert.True(Simulator.Backend.FusedCalls(fused[i]) > before[i], $"{name} did not run the fused {fused[i]} on the simulator.");
    }

    [Fact]
    public void EveryNamedFusedCaseExists()
    {
        var names = BackendConformance.ModuleCases.Select(c => c.Name).ToHashSet();
        Assert.All(FusedPaths.Keys, n => Assert.Contains(n, names));
    }

    [Fact]
    public void MaxPoolingRecordingAGradientKeepsTheIndices()
    {
        var x = Tensor.Randn([1, 2, 4, 4], DType.Float32, new Generator(1)).To(Simulator.Device).RequiresGrad_();
        long before = Simulator.Backend.FusedCalls("MaxPool2dValues");

        Nn.Functional.MaxPool2d(x, 2).Sum().Backward();

        Assert.Equal(before, Simulator.Backend.FusedCalls("MaxPool2dValues"));
        Assert.Equal(8f, x.Grad!.Sum().Item<float>());   // one 1 per window: 2 channels × 2 × 2 windows
    }

    [Fact]
    public void SmallNetworkTrainsOnTheSimulator()
    {
        var failures = new SimulatorBackendConformance().RunTraining().ToList();

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
