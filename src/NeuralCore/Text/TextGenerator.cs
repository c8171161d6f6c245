using System.Runtime.CompilerServices;
using NeuralCore.Nn;

namespace NeuralCore.Text;

/// <summary>
/// Autoregressive generation with a key/value cache: the prompt is run once, then every new token costs one position
/// (its keys and values are appended to the cache). When the cache reaches the model's context length, the last half
/// of the context is run again into an emptied cache and generation continues from there.
/// </summary>
public static class TextGenerator
{
    /// <summary>
    /// Generates token ids after <paramref name="prompt"/>, one at a time, until <see cref="GenerationOptions.MaxNewTokens"/>
    /// or a stop token (not emitted). The model runs in evaluation mode without recording gradients; its training mode is
    /// restored when the enumeration ends.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static IEnumerable<int> GenerateTokens(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        options ??= new GenerationOptions();
        options.Validate();
        if (prompt.Count == 0) throw new ArgumentException("Generation: the prompt must hold at least one token.", nameof(prompt));
        return Run(model, prompt, options);
    }

    static IEnumerable<int> Run(ICausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options)
    {
        var module = model as Module;
        bool wasTraining = module?.IsTraining ?? false;
        module?.Eval();
        try
        {
            var generator = options.Generator ?? Rng.Default;
            var stops = options.StopTokens as ISet<int> ?? new HashSet<int>(options.StopTokens);
            int context = model.ContextLength;
            var cache = model.NewCache();
            var history = new List<int>(prompt);
            float[] logits = Step(model, cache, history, Math.Min(history.Count, context));
            for (int produced = 0; produced < options.MaxNewTokens; produced++)
            {
                int next = TokenSampler.Sample(logits, options, generator);
                if (stops.Contains(next)) yield break;
                yield return next;
                history.Add(next);
                if (produced + 1 == options.MaxNewTokens) yield break;
                if (cache.Length < context) logits = Step(model, cache, history, 1);
                else
                {
                    cache.Reset();
                    logits = Step(model, cache, history, Math.Max(1, context / 2));
                }
            }
        }
        finally
        {
            if (wasTraining) module!.Train();
        }
    }

    // Runs the last `count` tokens of the history through the model (continuing the cache) and returns the last logits.
    static float[] Step(ICausalLanguageModel model, KeyValueCache cache, List<int> history, int count)
    {
        var ids = new long[count];
        for (int i = 0; i < count; i++) ids[i] = history[history.Count - count + i];
        using (Tensor.NoGrad())
        {
            var logits = model.Forward(Tensor.FromArray(ids, 1, count), cache);
            var last = logits.Select(1, count - 1).Select(0, 0);
            return last.To(DType.Float32).ToArray<float>();
        }
    }

    /// <summary>
    /// Streams the text that follows <paramref name="prompt"/>: each piece is the text added by the tokens produced since
    /// the last piece (a piece is held back while it would end in an incomplete character). Each model step runs on the
    /// thread pool, so the caller's thread is free between pieces.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt encodes to no token, or holds text the tokenizer cannot represent.</exception>
    public static async IAsyncEnumerable<string> StreamAsync(ICausalLanguageModel model, ITokenizer tokenizer, string prompt,
        GenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        var tokens = GenerateTokens(model, tokenizer.Encode(prompt), options);
        using var e = tokens.GetEnumerator();
        var produced = new List<int>();
        int emitted = 0;
        while (await Task.Run(e.MoveNext, cancellationToken).ConfigureAwait(false))
        {
            produced.Add(e.Current);
            string text = tokenizer.Decode(produced.ToArray());
            if (text.Length > emitted && !text.EndsWith('\uFFFD') && !char.IsHighSurrogate(text[^1]))
            {
                yield return text[emitted..];
                emitted = text.Length;
            }
        }
        string final = tokenizer.Decode(produced.ToArray());
        if (final.Length > emitted) yield return final[emitted..];
    }
}
