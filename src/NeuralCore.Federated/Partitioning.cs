namespace NeuralCore.Federated;

/// <summary>
/// Splits a dataset's indices among federated clients for experiments: IID, McMahan et al.'s label shards
/// (sort by label, cut into equal shards, deal a fixed number of shards to each client) and a Dirichlet(alpha)
/// label skew (each class split among the clients in proportions drawn from Dirichlet(alpha)). Every method is
/// deterministic in its seed and returns, for each client, its indices in increasing order; together the
/// partitions cover every index exactly once.
/// </summary>
public static class Partitioning
{
    /// <summary>Reads a label tensor (any integer or float dtype holding class ids) into an array.</summary>
    /// <param name="labels">A one-dimensional tensor of class ids.</param>
    /// <returns>The labels.</returns>
    /// <exception cref="ArgumentException">The tensor is not one-dimensional or holds a negative or non-integer id.</exception>
    public static int[] Labels(Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Dim != 1)
            throw new ArgumentException($"Partitioning.Labels: labels must be one-dimensional, got shape {labels.Shape}.", nameof(labels));
        var values = labels.To(DType.Float64).ToArray<double>();
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] < 0 || values[i] != Math.Floor(values[i]) || values[i] > int.MaxValue)
                throw new ArgumentException($"Partitioning.Labels: label {values[i]} at index {i} is not a class id.", nameof(labels));
            result[i] = (int)values[i];
        }
        return result;
    }

    /// <summary>A uniformly random split of <paramref name="count"/> items into <paramref name="clients"/> parts whose
    /// sizes differ by at most one.</summary>
    /// <param name="count">Number of items.</param>
    /// <param name="clients">Number of clients (at least 1, at most <paramref name="count"/>).</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <returns>Each client's indices.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range.</exception>
    public static int[][] Iid(int count, int clients, long seed)
    {
        CheckClients(clients, count, 1, nameof(Iid));
        var order = new Generator(seed).Permutation(count);
        return Deal(order, clients, 1, new Generator(seed), shuffleParts: false);
    }

    /// <summary>McMahan et al.'s pathological non-IID split: indices sorted by label (ties by index) are cut into
    /// <paramref name="clients"/> × <paramref name="shardsPerClient"/> contiguous shards of equal size (the first
    /// <c>count mod shards</c> shards one larger) and the shards are dealt to the clients in a random order.</summary>
    /// <param name="labels">Each item's class id.</param>
    /// <param name="clients">Number of clients.</param>
    /// <param name="shardsPerClient">Shards per client (2 in the paper).</param>
    /// <param name="seed">Seed of the shard assignment.</param>
    /// <returns>Each client's indices.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range (more shards than items).</exception>
    public static int[][] ByLabelShards(IReadOnlyList<int> labels, int clients, int shardsPerClient, long seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardsPerClient, 1);
        CheckClients(clients, labels.Count, shardsPerClient, nameof(ByLabelShards));
        var order = Enumerable.Range(0, labels.Count).OrderBy(i => labels[i]).ThenBy(i => i).ToArray();
        return Deal(order, clients, shardsPerClient, new Generator(seed), shuffleParts: true);
    }

    /// <summary>Dirichlet label skew (Hsu et al. 2019): for every class, proportions p ~ Dirichlet(alpha, …, alpha)
    /// over the clients; the class's items (in a seeded random order) go to the clients in those proportions
    /// (largest-remainder rounding). Small alpha gives each client few classes; large alpha approaches IID. Draws
    /// are repeated (up to 1,000 times) until every client has at least <paramref name="minPerClient"/> items.</summary>
    /// <param name="labels">Each item's class id.</param>
    /// <param name="clients">Number of clients.</param>
    /// <param name="alpha">Concentration (&gt; 0).</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="minPerClient">Smallest acceptable partition.</param>
    /// <returns>Each client's indices.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count or alpha is out of range.</exception>
    /// <exception cref="InvalidOperationException">No draw in 1,000 gave every client <paramref name="minPerClient"/> items.</exception>
    public static int[][] Dirichlet(IReadOnlyList<int> labels, int clients, double alpha, long seed, int minPerClient = 1)
    {
        ArgumentNullException.ThrowIfNull(labels);
        CheckClients(clients, labels.Count, 1, nameof(Dirichlet));
        if (!(alpha > 0) || double.IsInfinity(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Partitioning.Dirichlet: alpha must be positive and finite.");
        ArgumentOutOfRangeException.ThrowIfNegative(minPerClient);
        if ((long)minPerClient * clients > labels.Count)
            throw new ArgumentOutOfRangeException(nameof(minPerClient), minPerClient,
                $"Partitioning.Dirichlet: {clients} clients × {minPerClient} items exceeds the {labels.Count} items.");
        var rng = new Generator(seed);
        var byClass = Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            var parts = Enumerable.Range(0, clients).Select(_ => new List<int>()).ToArray();
            foreach (var members in byClass)
            {
                rng.Shuffle(members.AsSpan());
                var p = new double[clients];
                for (int k = 0; k < clients; k++) p[k] = Gamma(rng, alpha);
                double sum = p.Sum();
                var counts = sum > 0 ? Apportion(p, sum, members.Length) : Apportion([.. Enumerable.Repeat(1.0, clients)], clients, members.Length);
                int at = 0;
                for (int k = 0; k < clients; k++)
                {
                    parts[k].AddRange(members.AsSpan(at, counts[k]));
                    at += counts[k];
                }
            }
            if (parts.All(part => part.Count >= minPerClient))
                return [.. parts.Select(part => part.Order().ToArray())];
        }
        throw new InvalidOperationException(
            $"Partitioning.Dirichlet: no draw in 1000 gave each of {clients} clients at least {minPerClient} items (alpha {alpha}); lower minPerClient or raise alpha.");
    }

    static void CheckClients(int clients, int count, int shardsPerClient, string method)
    {
        if (clients < 1 || (long)clients * shardsPerClient > count)
            throw new ArgumentOutOfRangeException(nameof(clients), clients,
                $"Partitioning.{method}: {clients} clients × {shardsPerClient} shard(s) needs at least that many items; there are {count}.");
    }

    // Cuts `order` into clients * shardsPerClient contiguous shards (sizes differ by at most one) and gives each
    // client shardsPerClient of them, in a random shard order when shuffleParts is set.
    static int[][] Deal(int[] order, int clients, int shardsPerClient, Generator rng, bool shuffleParts)
    {
        int shards = clients * shardsPerClient;
        var starts = new int[shards + 1];
        for (int s = 0; s < shards; s++)
            starts[s + 1] = starts[s] + order.Length / shards + (s < order.Length % shards ? 1 : 0);
        var assignment = shuffleParts ? rng.Permutation(shards) : Enumerable.Range(0, shards).ToArray();
        var result = new int[clients][];
        for (int k = 0; k < clients; k++)
        {
            var mine = new List<int>();
            for (int j = 0; j < shardsPerClient; j++)
            {
                int s = assignment[k * shardsPerClient + j];
                mine.AddRange(order.AsSpan(starts[s], starts[s + 1] - starts[s]));
            }
            result[k] = [.. mine.Order()];
        }
        return result;
    }

    // Largest-remainder rounding of total * p / sum to integers summing to total.
    static int[] Apportion(double[] p, double sum, int total)
    {
        var counts = new int[p.Length];
        var remainders = new (double Remainder, int Index)[p.Length];
        int used = 0;
        for (int k = 0; k < p.Length; k++)
        {
            double exact = total * p[k] / sum;
            counts[k] = (int)Math.Floor(exact);
            used += counts[k];
            remainders[k] = (exact - counts[k], k);
        }
        foreach (var (_, k) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Index).Take(total - used))
            counts[k]++;
        return counts;
    }

    // Marsaglia and Tsang's gamma sampler; shape < 1 uses Gamma(shape + 1) · U^(1/shape).
    static double Gamma(Generator rng, double shape)
    {
        if (shape < 1)
            return Gamma(rng, shape + 1) * Math.Pow(Math.Max(rng.NextDouble(), double.Epsilon), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        Span<double> normal = stackalloc double[2];
        while (true)
        {
            rng.FillNormal(normal);
            double x = normal[0], v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rng.NextDouble();
            if (Math.Log(Math.Max(u, double.Epsilon)) < 0.5 * x * x + d - d * v + d * Math.Log(v))
                return d * v;
        }
    }
}
