// Compress: trains (or loads) the Fashion-MNIST MLP and CNN, compresses each with magnitude pruning (50 % one-shot,
// 80 % gradual), structured pruning, weight shrinkage and distillation, and prints and saves a table of test accuracy,
// file size and inference latency at batch 1 and 100.
//
//   dotnet run --project samples/Compress -c Release -- [--models mlp cnn] [--epochs N] [--fine-tune-epochs N]
//                                                       [--data DIR] [--subset] [--quick] [--out DIR] [--retrain]
using NeuralCore.Samples;

CompressApp.Run(args);
