using System.CommandLine;

namespace NeuralCore.Samples;

/// <summary>The Compress sample's settings; <see cref="Parse"/> reads them from the command line.</summary>
/// <param name="Models">Which base models to compress: mlp, cnn.</param>
/// <param name="Data">Folder searched first for the full Fashion-MNIST.</param>
/// <param name="Subset">Use the bundled 6,000/1,000-image subset even when the full set is installed.</param>
/// <param name="Out">Output folder (models, report).</param>
/// <param name="Epochs">Training epochs of the float32 models and the distilled students.</param>
/// <param name="FineTuneEpochs">Fine-tuning epochs after pruning or with shrinkage.</param>
/// <param name="TrainLimit">Use only the first this many training images (null: all).</param>
/// <param name="TestLimit">Use only the first this many test images (null: all).</param>
/// <param name="Retrain">Train the float32 models even when their files exist.</param>
/// <param name="ShrinkLambda">Weight shrinkage λ applied after every fine-tuning step.</param>
/// <param name="Seed">Seed of the default generator.</param>
/// <param name="LatencyRuns">Timed runs at batch 1 (batch 100 uses a quarter of them).</param>
/// <param name="WarmupSeconds">Least seconds of untimed forward passes before each latency measurement.</param>
/// <param name="Onnx">Also write each int8 model as an ONNX QDQ graph (.onnx next to its .safetensors).</param>
public sealed record CompressOptions(IReadOnlyList<string> Models, string Data, bool Subset, string Out, int Epochs, int FineTuneEpochs,
    int? TrainLimit, int? TestLimit, bool Retrain, double ShrinkLambda, long Seed, int LatencyRuns, double WarmupSeconds, bool Onnx = false)
{
    /// <summary>Parses the command line (<c>--help</c> lists the options).</summary>
    /// <returns>The options, or null when the command line was invalid or only asked for help (the message was printed).</returns>
    public static CompressOptions? Parse(string[] args)
    {
        var models = new Option<string[]>("--models") { Description = "base models to compress: mlp, cnn", DefaultValueFactory = _ => ["mlp", "cnn"], AllowMultipleArgumentsPerToken = true };
        models.AcceptOnlyFromAmong("mlp", "cnn");
        var data = new Option<string>("--data") { Description = "folder searched first for the full Fashion-MNIST", DefaultValueFactory = _ => "data" };
        var subset = new Option<bool>("--subset") { Description = "use the bundled 6,000/1,000-image subset" };
        var quick = new Option<bool>("--quick") { Description = "CI-sized run: the subset, 1,000 training and 500 test images, 1 epoch each, few latency runs" };
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "output" };
        var epochs = new Option<int>("--epochs") { Description = "training epochs of the float32 models and the students", DefaultValueFactory = _ => 5 };
        var fineTune = new Option<int>("--fine-tune-epochs") { Description = "fine-tuning epochs after pruning and with shrinkage", DefaultValueFactory = _ => 2 };
        var trainLimit = new Option<int?>("--train-limit") { Description = "use only the first N training images" };
        var testLimit = new Option<int?>("--test-limit") { Description = "use only the first N test images (at least 100)" };
        var retrain = new Option<bool>("--retrain") { Description = "train the float32 models even when their saved files exist" };
        var lambda = new Option<double>("--shrink-lambda") { Description = "weight shrinkage per fine-tuning step", DefaultValueFactory = _ => 1e-4 };
        var seed = new Option<long>("--seed") { Description = "random seed", DefaultValueFactory = _ => 42 };
        var runs = new Option<int>("--latency-runs") { Description = "timed forward passes at batch 1 (batch 100: a quarter)", DefaultValueFactory = _ => 200 };
        var onnx = new Option<bool>("--onnx") { Description = "also write the int8 models as ONNX QDQ graphs (.onnx)" };
        var root = new RootCommand("Compresses the Fashion-MNIST MLP and CNN (pruning, shrinkage, distillation) and reports accuracy, size and latency.")
        {
            models, data, subset, quick, output, epochs, fineTune, trainLimit, testLimit, retrain, lambda, seed, runs, onnx,
        };
        CompressOptions? parsed = null;
        root.SetAction(p =>
        {
            bool q = p.GetValue(quick);
            parsed = new CompressOptions(p.GetValue(models)!.Distinct().ToArray(), p.GetValue(data)!, q || p.GetValue(subset), p.GetValue(output)!,
                q ? 1 : p.GetValue(epochs), q ? 1 : p.GetValue(fineTune), p.GetValue(trainLimit) ?? (q ? 1000 : null),
                p.GetValue(testLimit) ?? (q ? 500 : null), p.GetValue(retrain), p.GetValue(lambda), p.GetValue(seed), q ? 10 : p.GetValue(runs), q ? 0.05 : 0.5,
                p.GetValue(onnx));
            return 0;
        });
        int code = root.Parse(args).Invoke();
        if (parsed is null) return null;
        if (parsed.Epochs < 1 || parsed.FineTuneEpochs < 1)
            throw new ArgumentException($"Compress: --epochs and --fine-tune-epochs must be at least 1, got {parsed.Epochs} and {parsed.FineTuneEpochs}.");
        if (parsed.TestLimit is < 100)
            throw new ArgumentException($"Compress: --test-limit must be at least 100 (the batch-100 latency uses 100 test images), got {parsed.TestLimit}.");
        if (parsed.TrainLimit is < 1)
            throw new ArgumentException($"Compress: --train-limit must be positive, got {parsed.TrainLimit}.");
        if (!(parsed.ShrinkLambda >= 0 && double.IsFinite(parsed.ShrinkLambda)))
            throw new ArgumentException($"Compress: --shrink-lambda must be finite and non-negative, got {parsed.ShrinkLambda}.");
        if (parsed.LatencyRuns < 4)
            throw new ArgumentException($"Compress: --latency-runs must be at least 4, got {parsed.LatencyRuns}.");
        return code == 0 ? parsed : null;
    }
}
