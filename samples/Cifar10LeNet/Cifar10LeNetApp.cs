// Cifar10LeNet: the PyTorch CIFAR-10 tutorial pipeline, exactly — LeNet, RandomCrop(32, padding 4) +
// RandomHorizontalFlip + Normalize(0.5, 0.5, 0.5), batch 100 with shuffling, SGD lr 0.001 momentum 0.9,
// 10 epochs, test accuracy after every epoch, saved weights.
//
//   dotnet run --project samples/Cifar10LeNet -c Release -- [--epochs N] [--device cpu|best|gpu|cuda|simulator]
//                                                          [--data DIR] [--download] [--seed N] [--out DIR]
using System.Diagnostics;
using NeuralCore.Data;
using NeuralCore.Optim;
using NeuralCore.Vision;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Samples;

/// <summary>The CIFAR-10 LeNet sample; <c>Program.cs</c> calls <see cref="Run"/> and the smoke test calls it directly.</summary>
public static class Cifar10LeNetApp
{
    /// <summary>Trains and evaluates; returns the final test accuracy in percent, or -1 when the data is missing.</summary>
    public static double Run(string[] args)
    {
        var options = Cifar10LeNetOptions.Parse(args);
        Rng.ManualSeed(options.Seed);                                      // seeds init, shuffling, augmentation
        var device = DeviceOption.Resolve(options.Device);
        Console.WriteLine($"Device: {device.Description}");

        // 1. Data, with the tutorial's augmentation for training and plain normalisation for testing.
        var normalize = Transforms.Normalize(new[] { 0.5f, 0.5f, 0.5f }, new[] { 0.5f, 0.5f, 0.5f });
        Cifar10 train, test;
        try
        {
            train = new Cifar10(options.Data, train: true, download: options.Download, transform: Transforms.Compose(
                Transforms.RandomCrop(32, padding: 4), Transforms.RandomHorizontalFlip(), Transforms.ToTensor(), normalize));
            test = new Cifar10(options.Data, train: false, download: options.Download,
                transform: Transforms.Compose(Transforms.ToTensor(), normalize));
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Console.WriteLine($"CIFAR-10 is not available: {e.Message}");
            Console.WriteLine("Get it with --download (needs network access), or place data_batch_1.bin … data_batch_5.bin and " +
                              $"test_batch.bin from the official binary archive in {Path.GetFullPath(Path.Combine(options.Data, "cifar-10-batches-bin"))}.");
            return -1;
        }
        Console.WriteLine($"Data: {train.Count:N0} training and {test.Count:N0} test images from {train.Source}");
        var trainLoader = new DataLoader(train, batchSize: options.BatchSize, shuffle: true);
        var testLoader = new DataLoader(test, batchSize: options.BatchSize, shuffle: false);

        // 2. Model and optimizer.
        var net = new LeNet();
        net.To(device);
        var optimizer = new Sgd(net.Parameters(), lr: 0.001, momentum: 0.9);
        Console.WriteLine(net);

        // 3. Train; measure test accuracy after every epoch.
        var accuracies = new List<double>();
        var losses = new List<double>();
        double accuracy = 0;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            net.Train();
            double lossSum = 0;
            int batches = 0;
            foreach (var (images, labels) in trainLoader)
            {
                using var scope = Tensor.Scope();                          // frees the step's temporaries at once
                var x = images.To(device); var y = labels.To(device);
                optimizer.ZeroGrad();
                var loss = F.CrossEntropy(net.Forward(x), y);
                loss.Backward();
                optimizer.Step();
                lossSum += loss.Item<float>();
                batches++;
            }
            net.Eval();
            int correct = 0, total = 0;
            using (Tensor.NoGrad())
                foreach (var (images, labels) in testLoader)
                {
                    using var scope = Tensor.Scope();
                    var predicted = net.Forward(images.To(device)).ArgMax(dim: 1);
                    correct += (int)predicted.Eq(labels.To(device)).Sum().Item<long>();
                    total += (int)labels.Shape[0];
                }
            accuracy = 100.0 * correct / total;
            accuracies.Add(accuracy);
            losses.Add(lossSum / Math.Max(batches, 1));
            Console.WriteLine($"epoch {epoch + 1}: train loss {losses[^1]:F4}, test accuracy {accuracy:F2} % ({clock.Elapsed.TotalSeconds:F1} s)");
        }

        // 4. Save weights (safetensors, PyTorch's key names) and the training curves.
        Directory.CreateDirectory(options.Out);
        string weights = Path.Combine(options.Out, "lenet.safetensors");
        net.Save(weights);
        var curves = new Dictionary<string, IReadOnlyList<double>> { ["loss"] = losses, ["test_accuracy"] = accuracies };
        TrainingPlot.WritePng(Path.Combine(options.Out, "lenet-history.png"), curves);
        TrainingPlot.WriteCsv(Path.Combine(options.Out, "lenet-history.csv"), curves);
        Console.WriteLine($"saved {weights} and lenet-history.png/.csv");
        return accuracy;
    }
}

/// <summary>Command-line options of the CIFAR-10 LeNet sample.</summary>
public sealed record Cifar10LeNetOptions(int Epochs, int BatchSize, string Device, string Data, bool Download, long Seed, string Out)
{
    /// <summary>Parses the command line; unknown options raise an ArgumentException listing the valid ones.</summary>
    public static Cifar10LeNetOptions Parse(string[] args)
    {
        var o = new Cifar10LeNetOptions(10, 100, "best", "data", false, 42, "output");
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            o = args[i] switch
            {
                "--epochs" => o with { Epochs = int.Parse(Next()) },
                "--batch-size" => o with { BatchSize = int.Parse(Next()) },
                "--device" => o with { Device = Next() },
                "--data" => o with { Data = Next() },
                "--download" => o with { Download = true },
                "--seed" => o with { Seed = long.Parse(Next()) },
                "--out" => o with { Out = Next() },
                _ => throw new ArgumentException($"Unknown option {args[i]}. Options: --epochs N, --batch-size N, --device " + DeviceOption.Names + ", --data DIR, --download, --seed N, --out DIR."),
            };
        }
        return o;
    }
}
