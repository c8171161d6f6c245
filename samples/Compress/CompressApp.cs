using System.Diagnostics;
using System.Globalization;
using System.Text;
using NeuralCore.Compression;
using NeuralCore.Compression.Bf16;
using NeuralCore.Compression.Distillation;
using NeuralCore.Compression.Pruning;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;
using NeuralCore.Vision;

namespace NeuralCore.Samples;

/// <summary>The Compress sample; <c>Program.cs</c> calls <see cref="Run"/> and the smoke test calls it directly.</summary>
public static class CompressApp
{
    const int BatchSize = 64;

    /// <summary>
    /// Trains (or loads) each base model, builds its compressed variants, measures them and writes
    /// <c>compression-report.md</c> and <c>.csv</c> to the output folder.
    /// </summary>
    /// <returns>One report per base model; empty when the command line only asked for help or was invalid.</returns>
    public static IReadOnlyList<CompressionReport> Run(string[] args)
    {
        var options = CompressOptions.Parse(args);
        if (options is null) return [];
        Rng.ManualSeed(options.Seed);
        Directory.CreateDirectory(options.Out);

        // 1. Data: the full Fashion-MNIST when installed (Debian's dataset-fashion-mnist), else the bundled subset.
        var (train, test, source) = FashionMnistSample.LoadData(options.Data, options.Subset, download: false, Console.WriteLine);
        Dataset trainData = options.TrainLimit is int t && t < train.Count ? new Subset(train, Enumerable.Range(0, t)) : train;
        long testCount = Math.Min(options.TestLimit ?? test.Count, test.Count);
        var testImages = test.Images.Narrow(0, 0, testCount).Contiguous();
        var testLabels = test.Labels.Narrow(0, 0, testCount).Contiguous();
        Console.WriteLine($"Data: {source}; training on {trainData.Count:N0} images, testing on {testCount:N0}.");

        var reports = new List<CompressionReport>();
        foreach (var kind in options.Models)
        {
            var report = new CompressionReport(kind, testImages, testLabels, warmup: Math.Max(2, options.LatencyRuns / 20),
                batch1Runs: options.LatencyRuns, batch100Runs: Math.Max(1, options.LatencyRuns / 4), warmupSeconds: options.WarmupSeconds);
            Compress(kind, trainData, report, options);
            reports.Add(report);
        }

        // 2. The table: printed, and saved as Markdown and CSV.
        string latencyNote = $"Latency: wall-clock median of {options.LatencyRuns} (batch 1) and {Math.Max(1, options.LatencyRuns / 4)} (batch 100) " +
                             $"warmed-up forward passes on this machine ({Environment.ProcessorCount} logical cores), evaluation mode, no gradients; not a benchmark.";
        Console.WriteLine();
        Console.Write(CompressionReport.ToText(reports));
        Console.WriteLine(latencyNote);
        string markdown = Path.Combine(options.Out, "compression-report.md"), csv = Path.Combine(options.Out, "compression-report.csv");
        File.WriteAllText(markdown, Markdown(reports, options, source, trainData.Count, testCount, latencyNote));
        File.WriteAllText(csv, CompressionReport.ToCsv(reports));
        Console.WriteLine($"Saved {markdown} and {csv}.");
        return reports;
    }

    // 3. One base model: float32, unstructured pruning (one-shot 50 %, gradual 80 %), structured pruning, shrinkage
    //    and a distilled student, each fine-tuned or trained on the same data and saved as safetensors.
    static void Compress(string kind, Dataset train, CompressionReport report, CompressOptions options)
    {
        string File(string variant) => Path.Combine(options.Out, $"fashion-{kind}-{variant}.safetensors");
        string baseFile = Path.Combine(options.Out, $"fashion-{kind}.safetensors");
        Sequential Copy() => (Sequential)Sequential.Load(baseFile).Train();
        int stepsPerEpoch = (train.Count + BatchSize - 1) / BatchSize;

        Sequential float32;
        if (!options.Retrain && System.IO.File.Exists(baseFile))
        {
            float32 = Sequential.Load(baseFile);
            Console.WriteLine($"[{kind}] loaded the float32 model from {baseFile}");
        }
        else
        {
            float32 = kind == "cnn" ? FashionMnistSample.Cnn() : FashionMnistSample.Mlp();
            Timed(kind, $"trained float32 ({options.Epochs} epochs)", () => Train(float32, train, options.Epochs, new Adam(lr: 1e-3)));
            float32.Save(baseFile);
        }
        Add(report, "float32", float32, baseFile);

        // Unstructured, one-shot: half of each layer's weights, then fine-tuning with the masks kept.
        var pruned50 = Copy();
        using (var pruner = new MagnitudePruner(pruned50, PruningScope.PerLayer))
        {
            pruner.Prune(0.5);
            Timed(kind, "pruned 50 % one-shot + fine-tune", () => Train(pruned50, train, options.FineTuneEpochs, new Adam(lr: 5e-4), new PruningCallback(pruner)));
            pruner.MakePermanent();
        }
        Save(report, "pruned 50 %", pruned50, File("pruned50"));

        // Unstructured, gradual: global magnitude pruning rising to 80 % over the first two thirds of fine-tuning.
        var pruned80 = Copy();
        using (var pruner = new MagnitudePruner(pruned80, PruningScope.Global))
        {
            long steps = (long)stepsPerEpoch * options.FineTuneEpochs;
            var schedule = new PolynomialSchedule(0, 0.8, beginStep: 0, endStep: Math.Max(1, steps * 2 / 3), frequency: Math.Max(1, steps / 20));
            Timed(kind, "pruned 80 % gradual", () => Train(pruned80, train, options.FineTuneEpochs, new Adam(lr: 5e-4), new PruningCallback(pruner, schedule)));
            if (pruner.Sparsity < 0.8) pruner.Prune(0.8);   // a run shorter than the schedule's end step
            pruner.MakePermanent();
            Console.WriteLine(pruner.Report());
        }
        Save(report, "pruned 80 %", pruned80, File("pruned80"));

        // Structured: half of the channels and neurons of every layer but the last removed, then fine-tuned.
        var structured = StructuredPruner.Prune(Copy(), 0.5, ChannelNorm.L1);
        Timed(kind, "structured 50 % + fine-tune", () => Train(structured, train, options.FineTuneEpochs, new Adam(lr: 5e-4)));
        Save(report, "structured 50 %", structured, File("structured50"));

        // Shrinkage: w ← sign(w)·max(|w| − λ, 0) after every fine-tuning step.
        var shrunk = Copy();
        Timed(kind, $"shrinkage λ = {options.ShrinkLambda.ToString(CultureInfo.InvariantCulture)}",
            () => Train(shrunk, train, options.FineTuneEpochs, new Adam(lr: 5e-4), new WeightShrinkageCallback(options.ShrinkLambda)));
        Save(report, "shrinkage", shrunk, File("shrinkage"));

        // Distillation: a smaller student trained on the float32 model's softened outputs and the labels.
        var student = kind == "cnn" ? SmallCnn() : SmallMlp();
        var pair = new Sequential(new TeacherStudent(student, float32));
        Timed(kind, $"distilled student ({options.Epochs} epochs)", () =>
        {
            pair.Compile(new Adam(lr: 1e-3), new DistillationLoss(temperature: 4, alpha: 0.7), ["accuracy"]);
            pair.Fit(train, epochs: options.Epochs, batchSize: BatchSize, verbose: 0);
        });
        Save(report, "distilled student", student, File("student"));

        // bfloat16: the float32 model's Linear/Conv2d weights rounded to bfloat16 and stored as BF16; inference
        // widens them in registers and accumulates in float32.
        string bf16File = File("bf16");
        Bf16Model.Save(float32, bf16File);
        var bf16 = Bf16Model.Load(bf16File, Sequential.Load(baseFile));
        var bf16Row = report.Add("bf16", bf16.Forward, bf16File, parameters: float32.ParameterCount);
        Console.WriteLine($"[{kind}] bf16: accuracy {bf16Row.Accuracy:P2}, {bf16Row.FileBytes / 1024.0:F1} KiB");

        // int8. Dynamic: Linear/Dense weights int8, activations quantized per batch from their own range (convolutions
        // stay float32). Static: every Linear/Dense/Conv2d int8, input ranges calibrated (min-max observer, the default)
        // on the first CalibrationBatches training batches. QAT: the float32 model with fake quantization, fine-tuned
        // like the pruned models, then converted. The int8 weights are buffers, so the float32 parameter count is reported.
        // With --onnx each int8 model is also written as an ONNX QDQ graph, traced on one training image.
        var calibration = new DataLoader(train, BatchSize).Take(CalibrationBatches).Select(b => b.Inputs).ToList();
        Tensor? onnxSample = options.Onnx ? calibration[0][..1].Contiguous() : null;
        var dynamicInt8 = (Sequential)Quantization.QuantizeDynamic(float32);
        SaveInt8(report, "int8 dynamic", dynamicInt8, File("int8-dynamic"), float32.ParameterCount, onnxSample);

        var staticInt8 = Quantization.QuantizeStatic(float32, calibration);
        SaveInt8(report, "int8 static", staticInt8, File("int8-static"), float32.ParameterCount, onnxSample);

        var qat = Qat.Prepare(Copy());
        Timed(kind, "QAT fine-tune", () => Train(qat, train, options.FineTuneEpochs, new Adam(lr: 5e-4)));
        SaveInt8(report, "QAT int8", Qat.Convert(qat), File("qat-int8"), float32.ParameterCount, onnxSample);
    }

    /// <summary>Training batches the static int8 model is calibrated on.</summary>
    const int CalibrationBatches = 10;

    static void SaveInt8(CompressionReport report, string name, Sequential model, string file, long parameters, Tensor? onnxSample)
    {
        model.Save(file);
        if (onnxSample is not null)
        {
            string onnxFile = Path.ChangeExtension(file, ".onnx");
            NeuralCore.Onnx.OnnxExporter.Save(model, onnxSample, onnxFile);
            Console.WriteLine($"[{report.Model}] {name}: wrote {onnxFile}");
        }
        model.Eval();
        var row = report.Add(name, model.Forward, file, parameters: parameters);
        Console.WriteLine($"[{report.Model}] {name}: accuracy {row.Accuracy:P2}, {row.FileBytes / 1024.0:F1} KiB");
    }

    /// <summary>The MLP student: Flatten → Dense 32 relu → Dense 10 (about half the teacher's parameters).</summary>
    static Sequential SmallMlp() => new(new Flatten(), new Dense(32, Activation.Relu), new Dense(10));

    /// <summary>The CNN student: 8- and 16-channel conv blocks, then Dense 32 relu → Dense 10.</summary>
    static Sequential SmallCnn() => new(
        new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Dense(32, Activation.Relu), new Dense(10));

    static void Train(Sequential model, Dataset train, int epochs, Optimizer optimizer, params Callback[] callbacks)
    {
        model.Compile(optimizer, Loss.CrossEntropy, ["accuracy"]);
        model.Fit(train, epochs: epochs, batchSize: BatchSize, verbose: 0, callbacks: callbacks);
    }

    static void Save(CompressionReport report, string name, Sequential model, string file)
    {
        model.Save(file);
        Add(report, name, model, file);
    }

    static void Add(CompressionReport report, string name, Sequential model, string file)
    {
        var row = report.Add(name, model, file);
        Console.WriteLine($"[{report.Model}] {name}: accuracy {row.Accuracy:P2}, {row.FileBytes / 1024.0:F1} KiB, {row.Parameters:N0} parameters, sparsity {row.Sparsity:P1}");
    }

    static void Timed(string kind, string what, Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        Console.WriteLine($"[{kind}] {what}: {clock.Elapsed.TotalSeconds:F1} s");
    }

    static string Markdown(IReadOnlyList<CompressionReport> reports, CompressOptions options, string source, int trainCount, long testCount, string latencyNote)
    {
        var sb = new StringBuilder("# Compression report\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"Data: {source}; {trainCount:N0} training and {testCount:N0} test images. ");
        sb.Append(CultureInfo.InvariantCulture, $"Float32 models and students trained {options.Epochs} epoch(s); fine-tuning {options.FineTuneEpochs} epoch(s), batch {BatchSize}, Adam.\n\n");
        sb.Append(CompressionReport.ToMarkdown(reports)).Append('\n');
        sb.Append("- float32: the trained model.\n");
        sb.Append("- pruned 50 %: one-shot magnitude pruning of each Linear/Conv2d layer to 50 %, fine-tuned with the masks kept.\n");
        sb.Append("- pruned 80 %: global magnitude pruning, rising to 80 % along a cubic (Zhu & Gupta) schedule during fine-tuning.\n");
        sb.Append("- structured 50 %: half of the output channels/neurons of every layer but the last removed (L1 norm), a smaller dense model, fine-tuned.\n");
        sb.Append(CultureInfo.InvariantCulture, $"- shrinkage: fine-tuned with w ← sign(w)·max(|w| − λ, 0), λ = {options.ShrinkLambda}, after every step.\n");
        sb.Append("- distilled student: a smaller model trained on the float32 model's outputs (T = 4, α = 0.7) and the labels.\n");
        sb.Append("- bf16: the float32 model with its Linear/Conv2d weights rounded to bfloat16 (stored as BF16), float32 accumulation.\n");
        sb.Append("- int8 dynamic: Linear/Dense weights int8 (per channel), activations quantized per batch; convolutions stay float32.\n");
        sb.Append(CultureInfo.InvariantCulture, $"- int8 static: Linear/Dense/Conv2d weights int8, uint8 activations with ranges calibrated (min-max observer) on {CalibrationBatches} training batches.\n");
        sb.Append("- QAT int8: the float32 model fine-tuned with fake quantization (as many epochs as the pruned models), then converted to int8.\n\n");
        sb.Append("File sizes are the saved safetensors files (float32, except bf16's and the int8 models' weights): unstructured zeros are stored, so they do not shrink the file.\n\n");
        sb.Append(latencyNote).Append('\n');
        return sb.ToString();
    }
}
