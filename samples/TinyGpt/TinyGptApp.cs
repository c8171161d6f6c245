// TinyGpt: a small GPT (decoder-only transformer) trained from scratch on the CPU.
//
//   --task add        learns 2-digit addition written as text ("07+45=052."), trained on part of the 10,000 pairs,
//                     and prints the exact-match accuracy on the held-out rest.
//   --text [FILE]     a character-level GPT on any text (the bundled Book of Genesis by default): validation loss
//                     and perplexity per epoch, a generated sample, and the model saved with its tokenizer.
//   --generate TEXT   loads the model --text saved (or --model FILE) and streams a continuation of TEXT.
//
//   dotnet run --project samples/TinyGpt -c Release -- --task add
//   dotnet run --project samples/TinyGpt -c Release -- --text [FILE] [--epochs N] [--steps N]
//   dotnet run --project samples/TinyGpt -c Release -- --generate "And God said"
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Text;

namespace NeuralCore.Samples;

/// <summary>The TinyGpt sample; <c>Program.cs</c> calls <see cref="Run"/> and the smoke tests call the tasks directly.</summary>
public static class TinyGptApp
{
    /// <summary>Runs the command line; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        TinyGptOptions options;
        try
        {
            options = TinyGptOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        if (options.Prompt is not null) Generate(options).GetAwaiter().GetResult();
        else if (options.Task == "text") TextTask.Run(options);
        else AdditionTask.Run(options);
        return 0;
    }

    /// <summary>Loads a saved model and its tokenizer and streams a continuation of the prompt; returns the text produced.</summary>
    public static async Task<string> Generate(TinyGptOptions options)
    {
        string path = options.ModelPath ?? Path.Combine(options.Out, TextTask.ModelFile);
        var (model, tokenizer) = GptModel.LoadWithTokenizer(path);
        Console.WriteLine($"loaded {path}: {model.ParameterCount:N0} parameters, {tokenizer.VocabSize} tokens");
        Console.Write(options.Prompt);
        var produced = new System.Text.StringBuilder();
        await foreach (var piece in TextGenerator.StreamAsync(model, tokenizer, options.Prompt!, Sampling(options)))
        {
            Console.Write(piece);
            produced.Append(piece);
        }
        Console.WriteLine();
        return produced.ToString();
    }

    /// <summary>The sampling settings of the options, seeded.</summary>
    internal static GenerationOptions Sampling(TinyGptOptions o, IReadOnlyCollection<int>? stops = null) => new()
    {
        MaxNewTokens = o.MaxTokens,
        Temperature = o.Temperature,
        TopK = o.TopK,
        TopP = o.TopP,
        Generator = new Generator(o.Seed),
        StopTokens = stops ?? [],
    };

    /// <summary>
    /// One optimizer step on next-token prediction: cross-entropy of the logits at every position against
    /// <paramref name="targets"/> (-100 marks positions without a target), gradient clipping at norm 1, the step and the
    /// learning-rate schedule. Returns the loss.
    /// </summary>
    internal static double TrainStep(GptModel model, Optimizer optimizer, LRScheduler scheduler, Tensor inputs, Tensor targets)
    {
        using var scope = Tensor.Scope();
        var logits = model.Forward(inputs);
        var loss = Functional.CrossEntropy(logits.Reshape(-1, model.VocabSize), targets.Reshape(-1));
        optimizer.ZeroGrad();
        loss.Backward();
        Utils.ClipGradNorm(model.Parameters(), 1.0);
        optimizer.Step();
        scheduler.Step();
        return loss.Item<float>();
    }

    /// <summary>AdamW with weight decay 0.1 on the weight matrices and embeddings, none on norms and biases.</summary>
    internal static Optimizer NewOptimizer(GptModel model, double lr) =>
        new AdamW(WeightDecayGroups.Split(model, 0.1), lr: lr, betas: (0.9, 0.98));
}
