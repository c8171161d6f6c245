using NeuralCore.Testing;

namespace NeuralCore.Tests.OpSpecs;

/// <summary>The backend conformance suite for the CPU backend (the reference itself, so it checks the suite's plumbing, device moves and gradient routing).</summary>
public sealed class CpuBackendConformance() : BackendConformance(Device.Cpu);

public sealed class ConformanceTests
{
    public static TheoryData<string> Ops => new(OpRegistry.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Ops))]
    public void CpuBackendConforms(string op)
    {
        var failures = new CpuBackendConformance().Run(OpRegistry.Get(op)).ToList();

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
