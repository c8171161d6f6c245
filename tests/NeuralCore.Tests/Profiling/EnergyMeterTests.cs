using NeuralCore.Profiling;

namespace NeuralCore.Tests.Profiling;

public sealed class EnergyMeterTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("powercap").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    void Zone(string id, string name, long energy, long range)
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "intel-rapl:" + id)).FullName;
        File.WriteAllText(Path.Combine(dir, "name"), name + "\n");
        File.WriteAllText(Path.Combine(dir, "energy_uj"), energy + "\n");
        File.WriteAllText(Path.Combine(dir, "max_energy_range_uj"), range + "\n");
    }

    void SetEnergy(string id, long energy) => File.WriteAllText(Path.Combine(root, "intel-rapl:" + id, "energy_uj"), energy + "\n");

    EnergyOptions Options => new() { PowercapRoot = root, UseNvml = false, CarbonIntensityGramsPerKWh = 400 };

    [Fact]
    public void Rapl_SumsPackagesAndDramZones_SkipsCoreZones_AndHandlesWraparound()
    {
        Zone("0", "package-0", 1_000_000, 262_143_328_850);
        Zone("0:0", "core", 5_000, 262_143_328_850);
        Zone("0:1", "dram", 2_000_000, 65_712_999_613);
        Zone("1", "package-1", 262_143_000_000, 262_143_328_850);
        var meter = EnergyMeter.Start(Options);
        Assert.Equal(EnergyMethod.MeasuredRapl, meter.CpuMethod);
        SetEnergy("0", 4_000_000);      // +3 J
        SetEnergy("0:0", 999_000_000);  // a core sub-zone is part of its package: not added
        SetEnergy("0:1", 2_500_000);    // +0.5 J
        SetEnergy("1", 671_150);        // wrapped: 328 850 + 671 150 µJ = +1 J
        var report = meter.Stop();
        Assert.Equal(4.5, report.CpuJoules, 9);
        Assert.Equal(0, report.DramJoules);
        Assert.Equal("Measured-RAPL", report.Method);
        Assert.Equal(4.5 / 3.6e6, report.KWh, 15);
        Assert.Equal(4.5 / 3.6e6 * 400, report.Co2eGrams, 12);
        SetEnergy("0", 9_000_000);
        Assert.Equal(4.5, meter.Read().CpuJoules, 9); // stopped: the report is frozen
    }

    [Fact]
    public void Rapl_WithoutReadableCounters_FallsBackToTheEstimate_AndSaysWhy()
    {
        Directory.CreateDirectory(Path.Combine(root, "intel-rapl:0"));
        var probe = EnergyMeter.Probe(Options);
        Assert.Equal(EnergyMethod.EstimatedTdp, probe.CpuMethod);
        Assert.Contains("energy_uj", probe.RaplUnavailableReason);
        var missing = EnergyMeter.Probe(Options with { PowercapRoot = Path.Combine(root, "absent") });
        Assert.Contains("does not exist", missing.RaplUnavailableReason);
        Assert.Equal("Estimated-TDP", missing.Method);
    }

    [Fact]
    public void Estimate_IsCpuTimeTimesPerCorePower_PlusDram()
    {
        var options = Options with { PowercapRoot = Path.Combine(root, "absent"), CpuTdpWatts = 64, CpuCores = 8, DramWattsPerGiB = 0.375 };
        var meter = EnergyMeter.Start(options);
        double sink = 0;
        var until = DateTime.UtcNow.AddMilliseconds(150);
        while (DateTime.UtcNow < until) sink += Math.Sqrt(sink + 1);
        var report = meter.Stop();
        Assert.True(sink > 0);
        Assert.Equal(EnergyMethod.EstimatedTdp, report.CpuMethod);
        Assert.True(report.CpuTime > TimeSpan.Zero);
        Assert.Equal(report.CpuTime.TotalSeconds * 8, report.CpuJoules, 9);
        Assert.True(report.DramJoules > 0);
        Assert.True(report.DramJoules < Environment.WorkingSet * 2.0 / (1L << 30) * 0.375 * report.Elapsed.TotalSeconds);
        Assert.Equal(report.CpuJoules + report.DramJoules, report.Joules, 12);
        Assert.Equal(0, report.GpuJoules);
    }

    [Fact]
    public void Reports_AddOnlyWhenMeasuredAlike()
    {
        var a = new EnergyReport(1, 2, 0, EnergyMethod.EstimatedTdp, false, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 475);
        var b = a with { CpuJoules = 3 };
        Assert.Equal(8, (a + b).Joules);
        var ex = Assert.Throws<ArgumentException>(() => a + (b with { CpuMethod = EnergyMethod.MeasuredRapl }));
        Assert.Contains("Measured-RAPL", ex.Message);
    }

    [Theory]
    [InlineData(0, null, 0.375, 475, "CpuTdpWatts")]
    [InlineData(double.NaN, null, 0.375, 475, "CpuTdpWatts")]
    [InlineData(85, 0, 0.375, 475, "CpuCores")]
    [InlineData(85, null, -1, 475, "DramWattsPerGiB")]
    [InlineData(85, null, 0.375, double.PositiveInfinity, "CarbonIntensityGramsPerKWh")]
    public void BadOptions_AreRejectedByName(double tdp, int? cores, double dram, double intensity, string name)
    {
        var options = new EnergyOptions { CpuTdpWatts = tdp, CpuCores = cores, DramWattsPerGiB = dram, CarbonIntensityGramsPerKWh = intensity };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => EnergyMeter.Start(options));
        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void ThisMachine_ProbeStatesAMethod()
    {
        var probe = EnergyMeter.Probe();
        Assert.Contains(probe.Method, new[] { "Estimated-TDP", "Measured-RAPL", "Estimated-TDP+Measured-NVML", "Measured-RAPL+Measured-NVML" });
        if (probe.CpuMethod == EnergyMethod.EstimatedTdp) Assert.NotEqual("", probe.RaplUnavailableReason);
        if (!probe.GpuMeasured) Assert.NotEqual("", probe.NvmlUnavailableReason);
    }
}
