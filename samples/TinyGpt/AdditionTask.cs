using System.Diagnostics;
using System.Globalization;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Text;

namespace NeuralCore.Samples;

/// <summary>
/// 2-digit addition as text: every pair a, b in 0..99 is written "ab+cd=efg." with zero-padded fields (for instance
/// "07+45=052."), one character per token. The model is trained to predict the answer characters (the loss ignores the
/// question) on a seeded share of the 10,000 pairs, and is scored by greedy decoding on the held-out rest.
/// </summary>
public static class AdditionTask
{
    /// <summary>The tokens: digits, '+', '=' and the end mark '.'.</summary>
    public const string Alphabet = "0123456789+=.";

    const int QuestionLength = 6;                // "07+45="
    const int AnswerLength = 4;                  // "052."
    const int SequenceLength = QuestionLength + AnswerLength;

    /// <summary>The file the trained model is saved to, under the output folder.</summary>
    public const string ModelFile = "tinygpt-add.safetensors";

    /// <summary>The text of one example.</summary>
    public static string Format(int a, int b) => string.Create(CultureInfo.InvariantCulture, $"{a:D2}+{b:D2}={a + b:D3}.");

    /// <summary>Trains, evaluates on the held-out pairs and saves; returns the held-out exact match in percent.</summary>
    public static double Run(TinyGptOptions o)
    {
        Rng.ManualSeed(o.Seed);
        var tokenizer = new CharTokenizer(Alphabet);

        // 1. Data: the 10,000 pairs in a seeded order, split into training and held-out pairs.
        var pairs = new (int A, int B)[10_000];
        for (int i = 0; i < pairs.Length; i++) pairs[i] = (i / 100, i % 100);
        new Generator(o.Seed).Shuffle(pairs.AsSpan());
        int trainCount = (int)Math.Round(pairs.Length * o.TrainFraction);
        var train = pairs[..trainCount];
        var heldOut = pairs[trainCount..];
        Console.WriteLine($"Data: {train.Length:N0} training and {heldOut.Length:N0} held-out pairs, e.g. \"{Format(train[0].A, train[0].B)}\".");

        // 2. Model: a small GPT over the 13 characters.
        int width = o.Width ?? 64, layers = o.Layers ?? 2, epochs = o.Epochs ?? 12, batch = o.BatchSize ?? 100;
        var model = new GptModel(tokenizer.VocabSize, SequenceLength, width, o.Heads, layers, dropout: 0);
        Console.WriteLine($"Model: GPT, {layers} layers, width {width}, {o.Heads} heads, {model.ParameterCount:N0} parameters.");

        // 3. Train: AdamW with a one-cycle schedule (warm-up, then cosine decay) over all steps.
        var (inputs, targets) = Encode(tokenizer, train);
        int stepsPerEpoch = (train.Length + batch - 1) / batch;
        var optimizer = TinyGptApp.NewOptimizer(model, o.Lr ?? 3e-3);
        var scheduler = new OneCycleLR(optimizer, o.Lr ?? 3e-3, epochs * stepsPerEpoch, pctStart: 0.1);
        var order = new Generator(o.Seed + 1);
        var clock = Stopwatch.StartNew();
        double accuracy = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            model.Train();
            var perm = Enumerable.Range(0, train.Length).ToArray();
            order.Shuffle(perm.AsSpan());
            double lossSum = 0;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                var chosen = perm[(s * batch)..Math.Min(train.Length, (s + 1) * batch)].Select(i => (long)i).ToArray();
                var rows = Tensor.FromArray(chosen, chosen.Length);
                lossSum += TinyGptApp.TrainStep(model, optimizer, scheduler, inputs.IndexSelect(0, rows), targets.IndexSelect(0, rows));
            }
            bool last = epoch == epochs;
            // The held-out score each epoch on the first 1,000 pairs (all of them after the last epoch).
            accuracy = ExactMatch(model, tokenizer, last ? heldOut : heldOut[..Math.Min(1000, heldOut.Length)]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}: train loss {lossSum / stepsPerEpoch:F4}, held-out exact match {accuracy:F2} %{(last ? "" : " (first 1,000)")}, {clock.Elapsed.TotalSeconds:F0} s"));
        }

        // 4. Result, a few answers streamed through the generator, and the model saved with its tokenizer.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"exact match {accuracy:F2} % on {heldOut.Length:N0} held-out pairs after {clock.Elapsed.TotalSeconds:F0} s of training"));
        var stop = tokenizer.Encode(".");
        foreach (var (a, b) in heldOut.Take(3))
        {
            string question = Format(a, b)[..QuestionLength];
            var generated = TextGenerator.GenerateTokens(model, tokenizer.Encode(question),
                new GenerationOptions { Temperature = 0, MaxNewTokens = AnswerLength, StopTokens = stop }).ToArray();
            Console.WriteLine($"  {question}{tokenizer.Decode(generated)}   (expected {a + b})");
        }
        Directory.CreateDirectory(o.Out);
        string path = Path.Combine(o.Out, ModelFile);
        model.Save(path, tokenizer);
        Console.WriteLine($"saved {path}");
        return accuracy;
    }

    // Inputs are the first 9 characters, targets the next character at each position, -100 (ignored) except where the
    // next character belongs to the answer.
    static (Tensor Inputs, Tensor Targets) Encode(CharTokenizer tokenizer, (int A, int B)[] pairs)
    {
        var x = new long[pairs.Length * (SequenceLength - 1)];
        var y = new long[x.Length];
        for (int i = 0; i < pairs.Length; i++)
        {
            var ids = tokenizer.Encode(Format(pairs[i].A, pairs[i].B));
            for (int t = 0; t < SequenceLength - 1; t++)
            {
                x[i * (SequenceLength - 1) + t] = ids[t];
                y[i * (SequenceLength - 1) + t] = t + 1 >= QuestionLength ? ids[t + 1] : -100;
            }
        }
        return (Tensor.FromArray(x, pairs.Length, SequenceLength - 1), Tensor.FromArray(y, pairs.Length, SequenceLength - 1));
    }

    /// <summary>
    /// Greedy decoding of all questions at once with the key/value cache (the questions in one forward pass, then one
    /// position per answer character); the percentage whose whole answer is right.
    /// </summary>
    public static double ExactMatch(GptModel model, CharTokenizer tokenizer, (int A, int B)[] pairs)
    {
        if (pairs.Length == 0) return 0;
        model.Eval();
        int correct = 0;
        const int chunk = 500;
        using (Tensor.NoGrad())
        {
            for (int start = 0; start < pairs.Length; start += chunk)
            {
                var part = pairs[start..Math.Min(pairs.Length, start + chunk)];
                var questions = new long[part.Length * QuestionLength];
                for (int i = 0; i < part.Length; i++)
                {
                    var ids = tokenizer.Encode(Format(part[i].A, part[i].B)[..QuestionLength]);
                    for (int t = 0; t < QuestionLength; t++) questions[i * QuestionLength + t] = ids[t];
                }
                var cache = model.NewCache();
                var next = Tensor.FromArray(questions, part.Length, QuestionLength);
                var answers = new long[part.Length, AnswerLength];
                for (int step = 0; step < AnswerLength; step++)
                {
                    var logits = model.Forward(next, cache);
                    next = logits.Select(1, logits.Shape[1] - 1).ArgMax(1).Reshape(part.Length, 1);
                    var picked = next.ToArray<long>();
                    for (int i = 0; i < part.Length; i++) answers[i, step] = picked[i];
                }
                for (int i = 0; i < part.Length; i++)
                {
                    var expected = tokenizer.Encode(Format(part[i].A, part[i].B)[QuestionLength..]);
                    bool ok = true;
                    for (int t = 0; t < AnswerLength; t++) ok &= answers[i, t] == expected[t];
                    if (ok) correct++;
                }
            }
        }
        return 100.0 * correct / pairs.Length;
    }
}
