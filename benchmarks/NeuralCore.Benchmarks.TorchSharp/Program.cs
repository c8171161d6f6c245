using BenchmarkDotNet.Running;
using NeuralCore.Benchmarks.Comparison;
using NeuralCore.Benchmarks.Comparison.NativeFix;

// The native fix runs here for this process's own output folder (BenchmarkDotNet's child processes apply it again
// to theirs, from each benchmark class's static constructor). It prints what it found and did.
foreach (string line in LibTorchSharpFix.EnsureLoadable())
    Console.WriteLine($"[TorchSharp native fix] {line}");

if (args is ["--check"])
    return NativeCheck.Run();

BenchmarkSwitcher.FromAssembly(typeof(ComparisonSetup).Assembly).Run(args);
return 0;
