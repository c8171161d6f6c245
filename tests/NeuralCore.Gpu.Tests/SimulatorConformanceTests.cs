using NeuralCore.Testing;

namespace NeuralCore.Gpu.Tests;

/// <summary>The backend conformance suite on ILGPU's CPU accelerator: every OpSpec, dtype and sample, values and gradients.</summary>
public sealed class SimulatorBackendConformance() : BackendConformance(Simulator.Device);

public sealed class SimulatorConformanceTests
{
    public static TheoryData<string> Ops => new(OpRegistry.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Ops))]
    public void SimulatorConforms(string op)
    {
        var failures = new SimulatorBackendConformance().Run(OpRegistry.Get(op)).ToList();

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
