using System.Diagnostics;

namespace NeuralCore.Profiling;

/// <summary>How the CPU share of an <see cref="EnergyReport"/> was obtained.</summary>
public enum EnergyMethod
{
    /// <summary>Estimated from the process's CPU time and a per-core power (<see cref="EnergyOptions.WattsPerCore"/>), plus DRAM by working set.</summary>
    EstimatedTdp,
    /// <summary>Measured by the processor's RAPL counters (package and DRAM zones, the whole machine).</summary>
    MeasuredRapl,
}

/// <summary>Energy used over an interval, with how it was obtained, and what it amounts to in kWh and CO2e.</summary>
/// <param name="CpuJoules">Processor energy (measured package energy, or the estimate).</param>
/// <param name="DramJoules">Memory energy: RAPL DRAM zones are already in <paramref name="CpuJoules"/>, so this is the estimate's DRAM term, else 0.</param>
/// <param name="GpuJoules">NVIDIA GPU energy measured by NVML, or 0 when none was measured.</param>
/// <param name="CpuMethod">How <paramref name="CpuJoules"/> was obtained.</param>
/// <param name="GpuMeasured">True when NVML measured <paramref name="GpuJoules"/>.</param>
/// <param name="Elapsed">Wall-clock time covered.</param>
/// <param name="CpuTime">CPU time of this process over the interval (all threads).</param>
/// <param name="CarbonIntensityGramsPerKWh">The intensity <see cref="Co2eGrams"/> used.</param>
public sealed record EnergyReport(double CpuJoules, double DramJoules, double GpuJoules, EnergyMethod CpuMethod, bool GpuMeasured,
    TimeSpan Elapsed, TimeSpan CpuTime, double CarbonIntensityGramsPerKWh)
{
    /// <summary>Joules per kWh.</summary>
    public const double JoulesPerKWh = 3.6e6;

    /// <summary>All energy: CPU + DRAM + GPU, in joules.</summary>
    public double Joules => CpuJoules + DramJoules + GpuJoules;

    /// <summary><see cref="Joules"/> in kWh.</summary>
    public double KWh => Joules / JoulesPerKWh;

    /// <summary>Grams of CO2e: <see cref="KWh"/> × <see cref="CarbonIntensityGramsPerKWh"/>.</summary>
    public double Co2eGrams => KWh * CarbonIntensityGramsPerKWh;

    /// <summary>
    /// The method as stated in reports: <c>"Measured-RAPL"</c> or <c>"Estimated-TDP"</c>, followed by
    /// <c>"+Measured-NVML"</c> when GPU energy was measured.
    /// </summary>
    public string Method => MethodName(CpuMethod, GpuMeasured);

    /// <summary>The text of <see cref="Method"/> for a CPU method and whether the GPU was measured.</summary>
    public static string MethodName(EnergyMethod cpu, bool gpuMeasured) =>
        (cpu == EnergyMethod.MeasuredRapl ? "Measured-RAPL" : "Estimated-TDP") + (gpuMeasured ? "+Measured-NVML" : "");

    /// <summary>The sum of two reports over consecutive intervals measured the same way.</summary>
    /// <exception cref="ArgumentException">The reports differ in method or carbon intensity.</exception>
    public static EnergyReport operator +(EnergyReport a, EnergyReport b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.CpuMethod != b.CpuMethod || a.GpuMeasured != b.GpuMeasured || a.CarbonIntensityGramsPerKWh != b.CarbonIntensityGramsPerKWh)
            throw new ArgumentException($"EnergyReport: cannot add a {a.Method} report at {a.CarbonIntensityGramsPerKWh} g/kWh to a {b.Method} report at {b.CarbonIntensityGramsPerKWh} g/kWh.");
        return new EnergyReport(a.CpuJoules + b.CpuJoules, a.DramJoules + b.DramJoules, a.GpuJoules + b.GpuJoules, a.CpuMethod, a.GpuMeasured,
            a.Elapsed + b.Elapsed, a.CpuTime + b.CpuTime, a.CarbonIntensityGramsPerKWh);
    }

    /// <summary>One line: joules, kWh, CO2e and the method.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"{Joules:F1} J ({KWh:E3} kWh, {Co2eGrams:F3} g CO2e, {Method})");
}

/// <summary>What an <see cref="EnergyMeter"/> can use on this machine, and why a measurement is not available.</summary>
/// <param name="CpuMethod">The CPU method a meter will use.</param>
/// <param name="GpuMeasured">True when NVML measures GPU energy.</param>
/// <param name="RaplZones">The RAPL zones read (empty unless measured).</param>
/// <param name="RaplUnavailableReason">Why RAPL is not used ("" when it is).</param>
/// <param name="NvmlUnavailableReason">Why NVML is not used ("" when it is).</param>
/// <param name="WattsPerCore">The estimate's per-core power.</param>
public sealed record EnergyCapabilities(EnergyMethod CpuMethod, bool GpuMeasured, IReadOnlyList<string> RaplZones,
    string RaplUnavailableReason, string NvmlUnavailableReason, double WattsPerCore)
{
    /// <summary>The method text, as <see cref="EnergyReport.Method"/> states it.</summary>
    public string Method => EnergyReport.MethodName(CpuMethod, GpuMeasured);
}

/// <summary>
/// Measures the energy used between <see cref="Start"/> and <see cref="Stop"/>: RAPL counters where the machine exposes
/// them and this process may read them, NVML for NVIDIA GPUs where libnvidia-ml is installed, and otherwise an
/// estimate from this process's CPU time and a per-core power derived from the processor's rated power (TDP), plus a
/// DRAM term from the working set. <see cref="EnergyReport.Method"/> always says which. docs/energy.md describes the
/// model and its constants.
/// </summary>
/// <remarks>
/// RAPL and NVML measure the whole package or GPU, so other work running on the machine is included; the estimate
/// covers only this process (all its threads). The RAPL zones under a powercap root are found once per process. A
/// meter is used by one owner; <see cref="Read"/> may be called at any time.
/// <code>
/// using var meter = EnergyMeter.Start();
/// model.Fit(data, epochs: 1);
/// Console.WriteLine(meter.Stop()); // joules, kWh, g CO2e and the method
/// </code>
/// </remarks>
public sealed class EnergyMeter : IDisposable
{
    readonly EnergyOptions options;
    readonly RaplReader? rapl;
    readonly NvmlReader? nvml;
    readonly long startTicks;
    readonly TimeSpan startCpu;
    readonly long startWorkingSet;
    readonly long[]? startRapl;
    readonly ulong[]? startGpu;
    EnergyReport? result;

    EnergyMeter(EnergyOptions options)
    {
        options.Validate();
        this.options = options;
        rapl = options.UseRapl ? RaplReader.Shared(options.PowercapRoot, out _) : null;
        nvml = options.UseNvml ? NvmlReader.TryGet(out _) : null;
        startRapl = rapl?.Read();
        startGpu = nvml?.Read();
        startWorkingSet = WorkingSet();
        startCpu = Environment.CpuUsage.TotalTime;
        startTicks = Stopwatch.GetTimestamp();
    }

    /// <summary>Starts measuring.</summary>
    /// <param name="options">Methods, power model and carbon intensity; <see cref="EnergyOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="EnergyOptions.Validate"/>).</exception>
    public static EnergyMeter Start(EnergyOptions? options = null) => new(options ?? EnergyOptions.Default);

    /// <summary>What a meter would use on this machine with <paramref name="options"/>, and why any measurement is unavailable.</summary>
    public static EnergyCapabilities Probe(EnergyOptions? options = null)
    {
        options ??= EnergyOptions.Default;
        options.Validate();
        string raplReason = "disabled by EnergyOptions.UseRapl", nvmlReason = "disabled by EnergyOptions.UseNvml";
        var rapl = options.UseRapl ? RaplReader.Shared(options.PowercapRoot, out raplReason) : null;
        var nvml = options.UseNvml ? NvmlReader.TryGet(out nvmlReason) : null;
        return new EnergyCapabilities(rapl is null ? EnergyMethod.EstimatedTdp : EnergyMethod.MeasuredRapl, nvml is not null,
            rapl?.Zones.ToArray() ?? [], raplReason, nvmlReason, options.WattsPerCore);
    }

    /// <summary>The options this meter uses.</summary>
    public EnergyOptions Options => options;

    /// <summary>The CPU method this meter uses.</summary>
    public EnergyMethod CpuMethod => rapl is null ? EnergyMethod.EstimatedTdp : EnergyMethod.MeasuredRapl;

    /// <summary>The energy used since <see cref="Start"/> (or up to <see cref="Stop"/> once stopped).</summary>
    public EnergyReport Read() => result ?? Measure();

    /// <summary>Stops the meter and returns its final report; later calls return the same report.</summary>
    public EnergyReport Stop() => result ??= Measure();

    /// <summary>Stops the meter (see <see cref="Stop"/>).</summary>
    public void Dispose() => Stop();

    static long workingSet, workingSetRead;

    /// <summary>
    /// The process's working set, read at most once a second: reading it costs tens of microseconds on Linux, as
    /// much as a small served request, and it changes slowly next to the meter's DRAM term.
    /// </summary>
    static long WorkingSet()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - Volatile.Read(ref workingSetRead) < Stopwatch.Frequency) return Volatile.Read(ref workingSet);
        long value = Environment.WorkingSet;
        Volatile.Write(ref workingSet, value);
        Volatile.Write(ref workingSetRead, now);
        return value;
    }

    EnergyReport Measure()
    {
        var elapsed = Stopwatch.GetElapsedTime(startTicks);
        var cpuTime = Environment.CpuUsage.TotalTime - startCpu;
        if (cpuTime < TimeSpan.Zero) cpuTime = TimeSpan.Zero;
        double cpuJoules, dramJoules = 0;
        if (rapl is not null) cpuJoules = rapl.JoulesBetween(startRapl!, rapl.Read());
        else
        {
            cpuJoules = cpuTime.TotalSeconds * options.WattsPerCore;
            double gib = (startWorkingSet + WorkingSet()) / 2.0 / (1L << 30);
            dramJoules = gib * options.DramWattsPerGiB * elapsed.TotalSeconds;
        }
        double gpuJoules = nvml is null ? 0 : NvmlReader.JoulesBetween(startGpu!, nvml.Read());
        return new EnergyReport(cpuJoules, dramJoules, gpuJoules, CpuMethod, nvml is not null, elapsed, cpuTime, options.CarbonIntensityGramsPerKWh);
    }
}
