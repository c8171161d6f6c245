using NeuralCore.Testing;

namespace NeuralCore.Gpu.Tests;

/// <summary>The layer, loss, optimizer and training part of the conformance suite on ILGPU's CPU accelerator.</summary>
public sealed class SimulatorModuleConformanceTests
{
    public static TheoryData<string> Cases => new(BackendConformance.ModuleCases.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void SimulatorMatchesCpu(string name)
    {
        var testCase = BackendConformance.ModuleCases.Single(c => c.Name == name);

        var failures = new SimulatorBackendConformance().RunCase(testCase).ToList();

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void SmallNetworkTrainsOnTheSimulator()
    {
        var failures = new SimulatorBackendConformance().RunTraining().ToList();

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
