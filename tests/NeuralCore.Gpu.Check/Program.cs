// Runs NeuralCore's backend conformance suite on a GPU (or on ILGPU's CPU simulator) and prints one line per
// failure and a closing "N passed, N failed" line; the exit code is 0 only when nothing failed.
//
//   NeuralCore.Gpu.Check [--device cuda|opencl|simulator] [--ops NAME,NAME] [--no-ops] [--no-modules] [--no-training]
//                        [--no-device-checks] [--gemm-rows N]
using System.Diagnostics;
using NeuralCore;
using NeuralCore.Gpu;
using NeuralCore.Testing;

namespace NeuralCore.Gpu.Check;

static class Program
{
    static int Main(string[] args)
    {
        CheckOptions options;
        try { options = CheckOptions.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        Console.WriteLine("Devices found by the probe:");
        var found = Gpu.Devices();
        if (found.Count == 0) Console.WriteLine("  none (no CUDA driver and no OpenCL 2.0+ driver was found)");
        foreach (var info in found) Console.WriteLine($"  {info}");

        Device device;
        try { device = SelectDevice(options.Device); }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }
        Console.WriteLine($"Device under test: {device} ({device.Description})");
        var clock = Stopwatch.StartNew();
        try { Gpu.Warmup(device); }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"FAIL warm-up: {e.Message}");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }
        Console.WriteLine($"Warm-up (compiling every kernel): {clock.Elapsed.TotalSeconds:0.00} s");

        var suite = new DeviceConformance(device);
        var tally = new Tally();
        if (options.RunDeviceChecks)
            foreach (var (name, run) in DeviceChecks.All(device, options.GemmRows))
                tally.Add(name, run());
        if (options.RunOps)
            foreach (var spec in OpRegistry.All)
            {
                if (options.Ops is { } only && !only.Contains(spec.Name)) continue;
                foreach (var dtype in spec.DTypes)
                    foreach (var sample in spec.Samples(dtype))
                        tally.Add($"{spec.Name}|{dtype}|{sample.Description}", suite.RunSample(spec, sample));
            }
        if (options.RunModules)
            foreach (var testCase in BackendConformance.ModuleCases)
                tally.Add(testCase.Name, suite.RunCase(testCase));
        if (options.RunTraining) tally.Add("training", suite.RunTraining());

        var stats = Gpu.Backend(device).GetMemoryStats();
        Console.WriteLine($"Checks took {clock.Elapsed.TotalSeconds:0.0} s; device memory now {stats}");
        Console.WriteLine($"{tally.Passed} passed, {tally.Failed} failed");
        return tally.Failed == 0 ? 0 : 1;
    }

    static Device SelectDevice(string name)
    {
        if (name == "simulator") return Gpu.UseCpuSimulator();
        var registered = Gpu.Register();
        var type = name == "opencl" ? DeviceType.OpenCL : DeviceType.Cuda;
        foreach (var d in registered)
            if (d.Type == type) return d;
        throw new InvalidOperationException($"No usable {type} device: {Device.Best().Description}");
    }

    sealed class DeviceConformance(Device device) : BackendConformance(device);

    sealed class Tally
    {
        public int Passed { get; private set; }
        public int Failed { get; private set; }

        public void Add(string name, IEnumerable<string> failures)
        {
            List<string> list;
            try { list = failures.ToList(); }
            catch (Exception e) { list = [$"{name}: the check threw {e.GetType().Name}: {e.Message}"]; }
            if (list.Count == 0) { Passed++; return; }
            Failed++;
            foreach (var f in list) Console.WriteLine($"FAIL {name}: {f}");
        }
    }
}

sealed record CheckOptions(string Device, HashSet<string>? Ops, bool RunOps, bool RunModules, bool RunTraining, bool RunDeviceChecks = true, int GemmRows = 1 << 21)
{
    public static CheckOptions Parse(string[] args)
    {
        var o = new CheckOptions("cuda", null, true, true, true);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            o = args[i] switch
            {
                "--device" => o with { Device = Next() is var d && d is "cuda" or "opencl" or "simulator" ? d : throw new ArgumentException($"Unknown device '{d}': use cuda, opencl or simulator.") },
                "--ops" => o with { Ops = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] },
                "--no-ops" => o with { RunOps = false },
                "--no-modules" => o with { RunModules = false },
                "--no-training" => o with { RunTraining = false },
                "--no-device-checks" => o with { RunDeviceChecks = false },
                "--gemm-rows" => o with { GemmRows = int.TryParse(Next(), out int rows) && rows > 0 ? rows : throw new ArgumentException("--gemm-rows needs a positive row count.") },
                _ => throw new ArgumentException($"Unknown option {args[i]}. Options: --device cuda|opencl|simulator, --ops NAME,NAME, --no-ops, --no-modules, --no-training, --no-device-checks, --gemm-rows N."),
            };
        }
        return o;
    }
}
