// ModelServer entry point: see ModelServerApp.cs.
return await NeuralCore.Samples.ModelServerApp.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
