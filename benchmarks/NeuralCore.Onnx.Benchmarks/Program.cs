using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(NeuralCore.Onnx.Benchmarks.InferenceBenchmarks).Assembly).Run(args);
