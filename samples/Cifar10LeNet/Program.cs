// Cifar10LeNet sample entry point: see Cifar10LeNetApp.cs.
return NeuralCore.Samples.Cifar10LeNetApp.Run(args) >= 0 ? 0 : 1;
