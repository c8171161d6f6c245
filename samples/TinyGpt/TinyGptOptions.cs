using System.Globalization;

namespace NeuralCore.Samples;

/// <summary>Command-line options of the TinyGpt sample.</summary>
public sealed record TinyGptOptions
{
    /// <summary>"add" or "text".</summary>
    public string Task { get; init; } = "add";

    /// <summary>The text file of <c>--text</c>; null uses the bundled Genesis.</summary>
    public string? TextFile { get; init; }

    /// <summary>The prompt of <c>--generate</c>; null trains instead.</summary>
    public string? Prompt { get; init; }

    /// <summary>The model file <c>--generate</c> loads (default: the one <c>--text</c> saves).</summary>
    public string? ModelPath { get; init; }

    /// <summary>Training epochs.</summary>
    public int? Epochs { get; init; }

    /// <summary>Optimizer steps per epoch (text task).</summary>
    public int? Steps { get; init; }

    /// <summary>Sequences per batch.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Peak learning rate.</summary>
    public double? Lr { get; init; }

    /// <summary>Model width.</summary>
    public int? Width { get; init; }

    /// <summary>Number of blocks.</summary>
    public int? Layers { get; init; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Context length (text task).</summary>
    public int Context { get; init; } = 64;

    /// <summary>Share of the 10,000 pairs used for training (addition task).</summary>
    public double TrainFraction { get; init; } = 0.8;

    /// <summary>Characters or tokens generated.</summary>
    public int MaxTokens { get; init; } = 300;

    /// <summary>Sampling temperature (0: greedy).</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Top-k filter (0: off).</summary>
    public int TopK { get; init; } = 20;

    /// <summary>Top-p filter (1: off).</summary>
    public double TopP { get; init; } = 0.95;

    /// <summary>Seed of initialisation, data order and sampling.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Output folder.</summary>
    public string Out { get; init; } = "output";

    const string Help = "Options: --task add|text, --text [FILE], --generate PROMPT, --model FILE, --epochs N, --steps N, --batch-size N, --lr X, "
        + "--width N, --layers N, --heads N, --context N, --train-fraction X, --max-tokens N, --temperature X, --top-k N, --top-p X, --seed N, --out DIR.";

    /// <summary>Parses the command line; unknown options raise an ArgumentException listing the valid ones.</summary>
    public static TinyGptOptions Parse(string[] args)
    {
        var o = new TinyGptOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture) is var n and > 0 ? n : throw new ArgumentException($"{args[i - 1]} needs a positive integer.");
            double Real() => double.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--task" => o with { Task = Next() switch { "add" => "add", "text" => "text", var t => throw new ArgumentException($"--task must be add or text, got {t}.") } },
                // The file is optional: "--text" alone (or followed by another option) trains on the bundled text.
                "--text" => o with { Task = "text", TextFile = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null },
                "--generate" => o with { Prompt = Next() },
                "--model" => o with { ModelPath = Next() },
                "--epochs" => o with { Epochs = Int() },
                "--steps" => o with { Steps = Int() },
                "--batch-size" => o with { BatchSize = Int() },
                "--lr" => o with { Lr = Real() },
                "--width" => o with { Width = Int() },
                "--layers" => o with { Layers = Int() },
                "--heads" => o with { Heads = Int() },
                "--context" => o with { Context = Int() },
                "--train-fraction" => o with { TrainFraction = Real() is var f and > 0 and < 1 ? f : throw new ArgumentException("--train-fraction must be in (0, 1).") },
                "--max-tokens" => o with { MaxTokens = Int() },
                "--temperature" => o with { Temperature = Real() },
                "--top-k" => o with { TopK = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--top-p" => o with { TopP = Real() },
                "--seed" => o with { Seed = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--out" => o with { Out = Next() },
                _ => throw new ArgumentException($"Unknown option {args[i]}. {Help}"),
            };
        }
        return o;
    }
}
