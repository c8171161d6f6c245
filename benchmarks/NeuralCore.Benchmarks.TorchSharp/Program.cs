using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using NeuralCore.Benchmarks.Comparison;

// The native fix runs here for this process's own output folder (BenchmarkDotNet's child processes apply it again
// to theirs, from each benchmark class's static constructor). It prints what it found and did.
ComparisonSetup.FixNativeLibrary();

if (args is ["--check"])
    return NativeCheck.Run();

// BenchmarkDotNet's generated child project copies libtorch (about 500 MB) into its own output folder; on a busy
// machine that takes longer than the default two-minute build timeout.
var config = ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10));
BenchmarkSwitcher.FromAssembly(typeof(ComparisonSetup).Assembly).Run(args, config);
return 0;
