// FashionMnist: the Keras-style Sequential model of the seed documents (Dense 64 relu → Dense 32 relu → 10),
// compiled with Adam and categorical cross-entropy, trained with Fit and measured with Evaluate.
// `--model cnn` trains a small convolutional network instead.
//
//   dotnet run --project samples/FashionMnist -c Release -- [--model mlp|cnn] [--epochs N] [--batch-size N]
//                                                          [--data DIR] [--subset] [--download] [--seed N] [--out DIR]
//                                                          [--device cpu|best|gpu|cuda|simulator] [--limit N]
//                                                          [--export-onnx PATH] [--explain N]
using System.Diagnostics;
using System.Text.Json;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Onnx;
using NeuralCore.Profiling;
using NeuralCore.Training;
using NeuralCore.Vision;

namespace NeuralCore.Samples;

/// <summary>The FashionMnist sample; <c>Program.cs</c> calls <see cref="Run"/> and the smoke test calls it directly.</summary>
public static class FashionMnistApp
{
    /// <summary>Trains, evaluates and saves; returns the test accuracy.</summary>
    public static double Run(string[] args)
    {
        var options = FashionMnistOptions.Parse(args);
        Rng.ManualSeed(options.Seed);

        // 1. Data: the full Fashion-MNIST when it can be found (the --data folder, Debian's dataset-fashion-mnist
        //    package, or a download with --download), else the real 6,000/1,000-image subset shipped with this sample.
        var (train, test, source) = LoadData(options);
        Console.WriteLine($"Data: {source} — {train.Count:N0} training and {test.Count:N0} test images.");
        Dataset trainData = Limit(train, options.Limit), testData = Limit(test, options.Limit);
        if (options.Limit is int limit)
            Console.WriteLine($"--limit {limit}: using the first {trainData.Count:N0} training and {testData.Count:N0} test images.");

        // 2. Model.
        var model = options.Model == "cnn" ? FashionMnistSample.Cnn() : FashionMnistSample.Mlp();
        model.Compile(optimizer: "adam", loss: "categorical_crossentropy", metrics: new[] { "accuracy" });
        Console.WriteLine(model.Summary(1, 1, 28, 28));
        var device = DeviceOption.Resolve(options.Device);
        model.To(device);                              // Fit, Evaluate and Predict move each batch to the model's device
        Console.WriteLine($"Device: {device.Description}");

        // 3. Train with a live progress bar, validating on the test set after every epoch.
        var clock = Stopwatch.StartNew();
        History history = model.Fit(trainData, epochs: options.Epochs, batchSize: options.BatchSize, validationData: testData);
        double seconds = clock.Elapsed.TotalSeconds;

        // 4. Evaluate (counting its FLOPs and energy), predict, save.
        EvaluationResult result;
        long evalFlops;
        EnergyReport evalEnergy;
        using (var flops = FlopCounter.Start())
        using (var meter = EnergyMeter.Start())
        {
            result = model.Evaluate(testData);
            evalFlops = flops.Total;
            evalEnergy = meter.Stop();
        }
        Console.WriteLine($"test loss {result.Loss:F4}, test accuracy {result["accuracy"]:P2} " +
                          $"({options.Model}, {options.Epochs} epochs, {seconds / options.Epochs:F1} s per epoch)");

        // Energy and cost: how the energy is obtained here, what training cost (History.TotalCost) and what one test
        // image costs to evaluate.
        var probe = EnergyMeter.Probe();
        Console.WriteLine($"energy method: {probe.Method}" +
                          (probe.CpuMethod == EnergyMethod.EstimatedTdp ? $" ({probe.WattsPerCore:F1} W per busy core; RAPL: {probe.RaplUnavailableReason})" : $" (RAPL zones {string.Join(", ", probe.RaplZones)})") +
                          (probe.GpuMeasured ? "" : $"; NVML: {probe.NvmlUnavailableReason}"));
        if (history.TotalCost is { } cost)
            Console.WriteLine($"training cost: {TrainingCost.FormatFlops(cost.Flops)} (forward {TrainingCost.FormatFlops(cost.ForwardFlops)}, " +
                              $"backward {TrainingCost.FormatFlops(cost.BackwardFlops)}, optimizer {TrainingCost.FormatFlops(cost.OptimizerFlops)}), " +
                              $"{cost.Energy.Joules:F0} J = {cost.Energy.KWh:E3} kWh, {cost.Energy.Co2eGrams:F3} g CO2e at " +
                              $"{cost.Energy.CarbonIntensityGramsPerKWh:F0} g/kWh, CPU time {cost.Energy.CpuTime.TotalSeconds:F1} s ({cost.Energy.Method})");
        Console.WriteLine($"evaluation: {TrainingCost.FormatFlops(evalFlops / testData.Count)} and {evalEnergy.Joules / testData.Count * 1000:F2} mJ per image " +
                          $"({testData.Count:N0} images, {evalEnergy.Joules:F1} J, {evalEnergy.Method})");
        Tensor probabilities = model.Predict(test.Images[..8]);
        var predicted = probabilities.ArgMax(dim: 1).ToArray<long>();
        var actual = test.Labels[..8].ToArray<long>();
        for (int i = 0; i < predicted.Length; i++)
            Console.WriteLine($"  image {i}: predicted {test.Classes[(int)predicted[i]],-12} actual {test.Classes[(int)actual[i]]}");

        Directory.CreateDirectory(options.Out);
        string weights = Path.Combine(options.Out, $"fashion-{options.Model}.safetensors");
        model.Save(weights);
        var again = Sequential.Load(weights);
        Console.WriteLine($"saved {weights}; reloaded model agrees on the first 8 images: " +
                          $"{again.Predict(test.Images[..8]).ArgMax(dim: 1).Eq(probabilities.ArgMax(dim: 1).To(Device.Cpu)).All().Item<bool>()}");

        // 5. Optionally, the trained model as ONNX (opset 17, dynamic batch, class labels in the metadata), read back
        //    to check that the imported graph predicts the same classes.
        if (options.ExportOnnx is string onnxPath)
        {
            model.To(Device.Cpu);
            var images = test.Images[..8];
            OnnxExporter.Save(model, images, onnxPath, new OnnxExportOptions { ClassLabels = test.Classes });
            var imported = OnnxModel.Load(onnxPath);
            Tensor onnxClasses;
            using (Tensor.NoGrad()) onnxClasses = imported.Forward(images).ArgMax(dim: 1);
            Console.WriteLine($"exported {onnxPath} (ONNX opset {OnnxOpset.Version}); the imported graph agrees on the first 8 images: " +
                              $"{onnxClasses.Eq(probabilities.ArgMax(dim: 1).To(Device.Cpu)).All().Item<bool>()}");
        }

        // 6. Optionally, explanations of the first N test images as heatmaps (integrated gradients with its
        //    completeness check, SmoothGrad, occlusion and, for the CNN, Grad-CAM).
        if (options.Explain is int explainCount)
            FashionMnistExplain.Run(model, test, Math.Min(explainCount, test.Count), options.Out, options.Model == "cnn");

        // 7. Training curves: PNG plot plus CSV and JSON history.
        string stem = Path.Combine(options.Out, $"fashion-{options.Model}-history");
        TrainingPlot.WritePng(stem + ".png", history.Values);
        TrainingPlot.WriteCsv(stem + ".csv", history.Values);
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(history.Values.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()),
            HistoryJson.Default.DictionaryStringDoubleArray));
        Console.WriteLine($"training curves: {stem}.png, .csv, .json");
        return result["accuracy"];
    }

    static Dataset Limit(Dataset data, int? limit) =>
        limit is int n && n < data.Count ? new Subset(data, Enumerable.Range(0, n)) : data;

    static (FashionMnist Train, FashionMnist Test, string Source) LoadData(FashionMnistOptions options) =>
        FashionMnistSample.LoadData(options.Data, options.Subset, options.Download, Console.WriteLine);
}

/// <summary>Command-line options of the FashionMnist sample.</summary>
public sealed record FashionMnistOptions(string Model, int Epochs, int BatchSize, string Data, bool Subset, bool Download, long Seed, string Out, string Device = "best", int? Limit = null, string? ExportOnnx = null, int? Explain = null)
{
    /// <summary>Parses the command line; unknown options raise an ArgumentException listing the valid ones.</summary>
    public static FashionMnistOptions Parse(string[] args)
    {
        var o = new FashionMnistOptions("mlp", 5, 64, "data", false, false, 42, "output");
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            o = args[i] switch
            {
                "--model" => o with { Model = Next() is "cnn" ? "cnn" : "mlp" },
                "--epochs" => o with { Epochs = int.Parse(Next()) },
                "--batch-size" => o with { BatchSize = int.Parse(Next()) },
                "--data" => o with { Data = Next() },
                "--subset" => o with { Subset = true },
                "--download" => o with { Download = true },
                "--seed" => o with { Seed = long.Parse(Next()) },
                "--out" => o with { Out = Next() },
                "--device" => o with { Device = Next() },
                "--export-onnx" => o with { ExportOnnx = Next() },
                "--explain" => o with { Explain = int.Parse(Next()) is var e and > 0 ? e : throw new ArgumentException("--explain needs a positive count.") },
                "--limit" => o with { Limit = int.Parse(Next()) is var n and > 0 ? n : throw new ArgumentException("--limit needs a positive count.") },
                _ => throw new ArgumentException($"Unknown option {args[i]}. Options: --model mlp|cnn, --epochs N, --batch-size N, --data DIR, --subset, --download, --seed N, --out DIR, --device " + DeviceOption.Names + ", --limit N, --export-onnx PATH, --explain N."),
            };
        }
        return o;
    }
}
