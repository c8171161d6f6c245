namespace NeuralCore.Text;

/// <summary>How <see cref="TextGenerator"/> picks tokens.</summary>
public sealed record GenerationOptions
{
    /// <summary>The most tokens generated (stop tokens end it sooner). Default 100.</summary>
    public int MaxNewTokens { get; init; } = 100;

    /// <summary>Divides the logits before sampling; 0 picks the most likely token (greedy). Default 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Sample only among the k most likely tokens; 0 keeps all. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Sample only among the most likely tokens whose probabilities add up to at least p (nucleus sampling); 1 keeps all. Default 1.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Tokens that end the generation; they are not emitted.</summary>
    public IReadOnlyCollection<int> StopTokens { get; init; } = [];

    /// <summary>The random source of sampling; <see cref="Rng.Default"/> when null. Seed one for repeatable output.</summary>
    public Generator? Generator { get; init; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range (the message names it).</exception>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"Generation: MaxNewTokens must be non-negative, got {MaxNewTokens}.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"Generation: Temperature must be finite and non-negative, got {Temperature}.");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), $"Generation: TopK must be non-negative, got {TopK}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), $"Generation: TopP must be in (0, 1], got {TopP}.");
        ArgumentNullException.ThrowIfNull(StopTokens);
    }
}
