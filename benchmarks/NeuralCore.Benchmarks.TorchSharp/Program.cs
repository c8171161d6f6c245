using BenchmarkDotNet.Running;
using NeuralCore.Benchmarks.Comparison;

// The native fix runs here for this process's own output folder (BenchmarkDotNet's child processes apply it again
// to theirs, from each benchmark class's static constructor). It prints what it found and did.
ComparisonSetup.FixNativeLibrary();

if (args is ["--check"])
    return NativeCheck.Run();

BenchmarkSwitcher.FromAssembly(typeof(ComparisonSetup).Assembly).Run(args);
return 0;
