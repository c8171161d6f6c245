namespace NeuralCore.Text;

/// <summary>Picks the next token from a row of logits: greedy, or sampled with temperature, top-k and top-p.</summary>
public static class TokenSampler
{
    /// <summary>
    /// The next token for <paramref name="logits"/> (one per vocabulary entry). Temperature 0 returns the first most
    /// likely token. Otherwise the probabilities softmax(logits / temperature) are restricted to the top-k tokens and
    /// then to the smallest set of most likely tokens whose mass reaches top-p, renormalised, and one token is drawn
    /// with one uniform number from the generator (ties in probability keep the lower id first).
    /// </summary>
    /// <exception cref="ArgumentException">The row is empty or holds NaN.</exception>
    public static int Sample(ReadOnlySpan<float> logits, GenerationOptions options, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(generator);
        if (logits.Length == 0) throw new ArgumentException("TokenSampler: the logits are empty.", nameof(logits));
        int best = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (float.IsNaN(logits[i])) throw new ArgumentException($"TokenSampler: logit {i} is NaN.", nameof(logits));
            if (logits[i] > logits[best]) best = i;
        }
        if (options.Temperature == 0) return best;

        // Order ids by logit, highest first (stable: equal logits keep the lower id first).
        var order = new int[logits.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = logits.ToArray();
        Array.Sort(order, (a, b) => keys[b] != keys[a] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        int keep = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;
        double max = keys[order[0]] / options.Temperature;
        var probs = new double[keep];
        double total = 0;
        for (int r = 0; r < keep; r++)
        {
            probs[r] = Math.Exp(keys[order[r]] / options.Temperature - max);
            total += probs[r];
        }
        if (options.TopP < 1)
        {
            double mass = 0;
            for (int r = 0; r < keep; r++)
            {
                mass += probs[r] / total;
                if (mass >= options.TopP)
                {
                    keep = r + 1;
                    break;
                }
            }
            total = 0;
            for (int r = 0; r < keep; r++) total += probs[r];
        }
        double u = generator.NextDouble() * total, acc = 0;
        for (int r = 0; r < keep; r++)
        {
            acc += probs[r];
            if (u < acc) return order[r];
        }
        return order[keep - 1];
    }
}
