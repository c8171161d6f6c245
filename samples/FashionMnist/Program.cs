// FashionMnist sample entry point: see FashionMnistApp.cs.
NeuralCore.Samples.FashionMnistApp.Run(args);
