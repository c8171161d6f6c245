namespace NeuralCore.Profiling;

/// <summary>
/// Settings of an <see cref="EnergyMeter"/>: which measurements to try, the power model used when the machine offers
/// none, and the carbon intensity that turns energy into CO2e. The defaults and their sources are in docs/energy.md.
/// </summary>
public sealed record EnergyOptions
{
    /// <summary>Default rated power (TDP) of the processor package when none is configured: 85 W.</summary>
    public const double DefaultCpuTdpWatts = 85;

    /// <summary>Default DRAM power per GiB of the process's working set: 0.375 W (3 W per 8 GiB).</summary>
    public const double DefaultDramWattsPerGiB = 0.375;

    /// <summary>Default carbon intensity of electricity: 475 g CO2e per kWh, a world-average figure (IEA, 2019).</summary>
    public const double DefaultCarbonIntensity = 475;

    /// <summary>The defaults, with <c>NEURALCORE_CPU_TDP_WATTS</c>, <c>NEURALCORE_CPU_CORES</c> and <c>NEURALCORE_CARBON_INTENSITY</c> applied when set.</summary>
    /// <exception cref="InvalidOperationException">One of those variables is set to something that is not a valid number.</exception>
    public static EnergyOptions Default => FromEnvironment();

    /// <summary>Rated power of the processor package in watts, shared evenly by its cores in the estimate.</summary>
    public double CpuTdpWatts { get; init; } = DefaultCpuTdpWatts;

    /// <summary>Cores sharing <see cref="CpuTdpWatts"/>; the logical processors this process sees when null.</summary>
    public int? CpuCores { get; init; }

    /// <summary>DRAM power per GiB of working set for the estimate; 0 leaves memory out.</summary>
    public double DramWattsPerGiB { get; init; } = DefaultDramWattsPerGiB;

    /// <summary>Grams of CO2e emitted per kWh of electricity where the work runs.</summary>
    public double CarbonIntensityGramsPerKWh { get; init; } = DefaultCarbonIntensity;

    /// <summary>Read RAPL counters under <see cref="PowercapRoot"/> when they are there and readable.</summary>
    public bool UseRapl { get; init; } = true;

    /// <summary>Read NVIDIA GPU energy through NVML (libnvidia-ml) when the library and a GPU are there.</summary>
    public bool UseNvml { get; init; } = true;

    /// <summary>Where the powercap sysfs tree is; another directory with the same layout can stand in for it.</summary>
    public string PowercapRoot { get; init; } = "/sys/class/powercap";

    /// <summary>The per-core power of the estimate: <see cref="CpuTdpWatts"/> / cores.</summary>
    public double WattsPerCore => CpuTdpWatts / (CpuCores ?? Environment.ProcessorCount);

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A power, core count or intensity is negative, zero where it divides, or not finite; the message names it.</exception>
    public void Validate()
    {
        if (!(CpuTdpWatts > 0) || double.IsInfinity(CpuTdpWatts))
            throw new ArgumentOutOfRangeException(nameof(CpuTdpWatts), CpuTdpWatts, "EnergyOptions: CpuTdpWatts must be a positive, finite number of watts.");
        if (CpuCores is < 1)
            throw new ArgumentOutOfRangeException(nameof(CpuCores), CpuCores, "EnergyOptions: CpuCores must be at least 1.");
        if (!(DramWattsPerGiB >= 0) || double.IsInfinity(DramWattsPerGiB))
            throw new ArgumentOutOfRangeException(nameof(DramWattsPerGiB), DramWattsPerGiB, "EnergyOptions: DramWattsPerGiB must be a finite number ≥ 0.");
        if (!(CarbonIntensityGramsPerKWh >= 0) || double.IsInfinity(CarbonIntensityGramsPerKWh))
            throw new ArgumentOutOfRangeException(nameof(CarbonIntensityGramsPerKWh), CarbonIntensityGramsPerKWh, "EnergyOptions: CarbonIntensityGramsPerKWh must be a finite number ≥ 0.");
        ArgumentException.ThrowIfNullOrEmpty(PowercapRoot);
    }

    static EnergyOptions FromEnvironment()
    {
        var o = new EnergyOptions();
        if (Number("NEURALCORE_CPU_TDP_WATTS") is double tdp) o = o with { CpuTdpWatts = tdp };
        if (Number("NEURALCORE_CPU_CORES") is double cores) o = o with { CpuCores = (int)cores };
        if (Number("NEURALCORE_CARBON_INTENSITY") is double ci) o = o with { CarbonIntensityGramsPerKWh = ci };
        try
        {
            o.Validate();
            return o;
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidOperationException($"EnergyOptions: an environment setting is out of range: {e.Message}", e);
        }
    }

    static double? Number(string name)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text)) return null;
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new InvalidOperationException($"EnergyOptions: {name}=\"{MessageText.Clip(text)}\" is not a number.");
    }
}
