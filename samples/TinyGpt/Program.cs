// TinyGpt sample entry point: see TinyGptApp.cs.
return NeuralCore.Samples.TinyGptApp.Run(args);
