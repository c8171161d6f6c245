using System.Diagnostics;
using System.Globalization;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Text;

namespace NeuralCore.Samples;

/// <summary>
/// A character-level GPT on a text file: the first 90 % of the text trains (random windows of the context length),
/// the last 10 % validates (a fixed set of windows). After each epoch it prints the validation loss and perplexity
/// and a generated sample; at the end it saves the model with its tokenizer.
/// </summary>
public static class TextTask
{
    /// <summary>The file the trained model is saved to, under the output folder.</summary>
    public const string ModelFile = "tinygpt-text.safetensors";

    /// <summary>The bundled public-domain text (see data/SOURCE.md).</summary>
    public static string BundledText => Path.Combine(AppContext.BaseDirectory, "data", "genesis-kjv.txt");

    /// <summary>Trains, prints validation loss, perplexity and a sample per epoch, saves; returns the final validation loss.</summary>
    public static double Run(TinyGptOptions o)
    {
        Rng.ManualSeed(o.Seed);

        // 1. Data: the text, its characters as the vocabulary, a 90/10 split.
        string file = o.TextFile ?? BundledText;
        string text = File.ReadAllText(file);
        var tokenizer = CharTokenizer.FromText(text);
        var ids = tokenizer.Encode(text);
        int context = o.Context, split = (int)(ids.Length * 0.9);
        if (split <= context + 1 || ids.Length - split <= context + 1)
            throw new ArgumentException($"{file}: {ids.Length:N0} characters are too few for context {context} (each part needs more than {context + 1}).");
        Console.WriteLine($"Data: {file}, {ids.Length:N0} characters, {tokenizer.VocabSize} distinct; {split:N0} train, {ids.Length - split:N0} validation.");

        // 2. Model.
        int width = o.Width ?? 128, layers = o.Layers ?? 3, epochs = o.Epochs ?? 4, steps = o.Steps ?? 150, batch = o.BatchSize ?? 32;
        var model = new GptModel(tokenizer.VocabSize, context, width, o.Heads, layers, dropout: 0.1);
        Console.WriteLine($"Model: GPT, {layers} layers, width {width}, {o.Heads} heads, context {context}, {model.ParameterCount:N0} parameters.");

        // 3. Train on random windows; validate on fixed windows spread over the validation part.
        double lr = o.Lr ?? 1e-3;
        var optimizer = TinyGptApp.NewOptimizer(model, lr);
        var scheduler = new OneCycleLR(optimizer, lr, epochs * steps, pctStart: 0.1);
        var windows = new Generator(o.Seed + 1);
        var (valX, valY) = ValidationWindows(ids, split, context, Math.Max(batch, 64));
        var clock = Stopwatch.StartNew();
        double valLoss = double.NaN;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            model.Train();
            double lossSum = 0;
            for (int s = 0; s < steps; s++)
            {
                var (x, y) = Batch(ids, 0, split, context, batch, windows);
                lossSum += TinyGptApp.TrainStep(model, optimizer, scheduler, x, y);
            }
            valLoss = Validate(model, valX, valY, batch);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}: train loss {lossSum / steps:F4}, validation loss {valLoss:F4}, perplexity {Math.Exp(valLoss):F2}, {clock.Elapsed.TotalSeconds:F0} s"));
            string prompt = tokenizer.Decode(ids.AsSpan(split, 16));
            var sample = TextGenerator.GenerateTokens(model, tokenizer.Encode(prompt), TinyGptApp.Sampling(o) with { MaxNewTokens = Math.Min(o.MaxTokens, 200) });
            Console.WriteLine($"  sample: {(prompt + tokenizer.Decode(sample.ToArray())).ReplaceLineEndings(" / ")}");
        }

        // 4. Save the model with its tokenizer (the manifest records the tokenizer).
        Directory.CreateDirectory(o.Out);
        string path = Path.Combine(o.Out, ModelFile);
        model.Save(path, tokenizer, new Serialization.ModelManifest
        {
            Name = "tinygpt-text",
            Metrics = new Dictionary<string, double> { ["validationLoss"] = valLoss, ["perplexity"] = Math.Exp(valLoss) },
        });
        Console.WriteLine($"saved {path}; continue a prompt with --generate \"...\"");
        return valLoss;
    }

    // A batch of random windows from ids[from..to): inputs [B, context] and the next characters as targets.
    static (Tensor X, Tensor Y) Batch(int[] ids, int from, int to, int context, int batch, Generator g)
    {
        var x = new long[batch * context];
        var y = new long[batch * context];
        for (int b = 0; b < batch; b++)
        {
            int start = from + g.NextInt(to - from - context - 1);
            for (int t = 0; t < context; t++)
            {
                x[b * context + t] = ids[start + t];
                y[b * context + t] = ids[start + t + 1];
            }
        }
        return (Tensor.FromArray(x, batch, context), Tensor.FromArray(y, batch, context));
    }

    // Evenly spaced windows over the validation part.
    static (Tensor X, Tensor Y) ValidationWindows(int[] ids, int split, int context, int count)
    {
        int span = ids.Length - split - context - 1;
        count = Math.Min(count, span + 1);
        var x = new long[count * context];
        var y = new long[count * context];
        for (int b = 0; b < count; b++)
        {
            int start = split + (int)((long)span * b / Math.Max(1, count - 1));
            for (int t = 0; t < context; t++)
            {
                x[b * context + t] = ids[start + t];
                y[b * context + t] = ids[start + t + 1];
            }
        }
        return (Tensor.FromArray(x, count, context), Tensor.FromArray(y, count, context));
    }

    static double Validate(GptModel model, Tensor x, Tensor y, int batch)
    {
        model.Eval();
        double total = 0;
        long rows = x.Shape[0];
        using (Tensor.NoGrad())
        {
            for (long start = 0; start < rows; start += batch)
            {
                using var scope = Tensor.Scope();
                long n = Math.Min(batch, rows - start);
                var logits = model.Forward(x.Narrow(0, start, n));
                var loss = Functional.CrossEntropy(logits.Reshape(-1, model.VocabSize), y.Narrow(0, start, n).Reshape(-1), Reduction.Sum);
                total += loss.Item<float>();
            }
        }
        return total / (rows * x.Shape[1]);
    }
}
