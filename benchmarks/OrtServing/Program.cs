// OrtServing entry point: see OrtServingApp.cs.
return await NeuralCore.Benchmarks.OrtServing.OrtServingApp.RunAsync(args);
