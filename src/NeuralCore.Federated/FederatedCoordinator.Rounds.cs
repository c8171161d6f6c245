using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using NeuralCore.Federated.Wire;

namespace NeuralCore.Federated;

public sealed partial class FederatedCoordinator
{
    // Every attempt gets a fresh tag (the wire's round field), so a late answer to an abandoned attempt of the same
    // round is never mistaken for an answer to the retry, and every attempt agrees fresh mask seeds.
    int exchangeTag;

    /// <summary>The sum of the answered clients' weighted updates, the sum of their weights, and their example count.</summary>
    sealed record Aggregate(double[] WeightedSum, double WeightSum, long Examples);

    sealed record Outcome(Aggregate? Result, IReadOnlyList<int> Answered, IReadOnlyList<int> Dropped, string? Reason);

    async Task<RoundLog> RunRoundAsync(int round, int attempt, bool canRetry, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var connected = clients.Values.OrderBy(c => c.Id).ToArray();
        int k = connected.Length;
        int m = Math.Min(k, Math.Max(options.MinClients, (int)Math.Ceiling(options.ClientFraction * k - 1e-9)));
        double q = options.PoissonSelection ? options.ClientFraction : k == 0 ? 0 : (double)m / k;
        // The DP estimator's fixed denominator: the expected number of selected clients.
        double expected = options.PoissonSelection ? options.ClientFraction * k : m;
        bool dp = options.ClipNorm is not null;
        RoundLog Entry(RoundStatus status, string? reason, IReadOnlyList<int> selected, IReadOnlyList<int> answered, IReadOnlyList<int> dropped,
            long examples, double norm, double? metric) =>
            new(round, attempt, status, reason, selected, answered, dropped, k, examples, q, dp ? options.NoiseMultiplier : 0, options.ClipNorm,
                noisedRounds, options.SecureAggregation, norm, clock.Elapsed.TotalSeconds, metric,
                accountant?.GetEpsilon(options.Delta!.Value));
        var failed = canRetry ? RoundStatus.Retried : RoundStatus.Skipped;
        if (k < options.MinClients)
            return Entry(failed, $"only {k} client(s) connected; MinClients is {options.MinClients}", [], [], [], 0, 0, null);

        ClientConnection[] selected;
        if (options.PoissonSelection)
        {
            selected = connected.Where(_ => rng.NextDouble() < options.ClientFraction).ToArray();
            if (selected.Length < options.MinClients)
                return Entry(failed, $"Poisson selection drew {selected.Length} client(s); MinClients is {options.MinClients}",
                    [.. selected.Select(c => c.Id)], [], [], 0, 0, null);
        }
        else
        {
            var order = rng.Permutation(k);
            selected = order.Take(m).Select(i => connected[i]).OrderBy(c => c.Id).ToArray();
        }
        long seedBase = unchecked((long)rng.NextUInt64());
        int tag = ++exchangeTag;
        var start = new RoundStart
        {
            Round = tag, LocalEpochs = options.LocalEpochs, BatchSize = options.BatchSize, LearningRate = options.LearningRate,
            ProxMu = options.ProxMu, Secure = options.SecureAggregation, ParameterCount = parameterCount, ScaleBits = options.ScaleBits,
            ClipNorm = options.SecureAggregation && dp ? options.ClipNorm!.Value : 0,
        };
        using var roundDeadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        roundDeadline.CancelAfter(options.RoundTimeout);
        var outcome = options.SecureAggregation
            ? await SecureRoundAsync(selected, start, seedBase, roundDeadline.Token, ct).ConfigureAwait(false)
            : await PlainRoundAsync(selected, start, seedBase, roundDeadline.Token).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        int[] selectedIds = [.. selected.Select(c => c.Id)];
        if (outcome.Result is not { } aggregate)
            return Entry(failed, outcome.Reason, selectedIds, outcome.Answered, outcome.Dropped, 0, 0, null);

        var update = aggregate.WeightedSum;
        if (dp)
        {
            // Fixed denominator: the expected number of clients per round, so one client moves the model by at most S/m.
            DpFedAvg.AddNoise(update, options.NoiseMultiplier * options.ClipNorm!.Value, rng);
            for (int i = 0; i < update.Length; i++) update[i] /= expected;
            if (options.NoiseMultiplier > 0)
            {
                noisedRounds++;
                accountant?.Step(options.NoiseMultiplier, options.ClientFraction);
            }
        }
        else
        {
            for (int i = 0; i < update.Length; i++) update[i] /= aggregate.WeightSum;
        }
        double sq = 0;
        for (int i = 0; i < global.Length; i++)
        {
            float before = global[i];
            global[i] = (float)(global[i] + update[i]);
            double change = global[i] - before;
            sq += change * change;
        }
        ModelVector.Load(model, global);
        double? metric = evaluate?.Invoke(model);
        return Entry(RoundStatus.Completed, null, selectedIds, outcome.Answered, outcome.Dropped, aggregate.Examples, Math.Sqrt(sq), metric);
    }

    async Task<Outcome> PlainRoundAsync(ClientConnection[] selected, RoundStart start, long seedBase, CancellationToken deadline)
    {
        var tasks = selected.Select(c => Exchange(c, deadline, async token =>
        {
            await SendRoundAsync(c, start, seedBase, 0, token).ConfigureAwait(false);
            var (delta, examples) = await ReceivePlainAsync(c, start.Round, token).ConfigureAwait(false);
            return (delta, examples);
        })).ToArray();
        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        var answered = results.Where(r => r.Error is null).ToArray();
        var dropped = Dropped(results);
        if (answered.Length < options.MinClients)
            return new(null, [.. answered.Select(r => r.Client.Id)], dropped, TooFew(answered.Length, "updates", results));
        var sum = new double[parameterCount];
        double weightSum = 0;
        long examples = 0;
        foreach (var (client, value, _) in answered)
        {
            var (delta, count) = value;
            double weight = count;
            if (options.ClipNorm is double clip)
            {
                DpFedAvg.Clip(delta, clip);
                weight = 1;
            }
            for (int i = 0; i < delta.Length; i++) sum[i] += weight * delta[i];
            weightSum += weight;
            examples += count;
        }
        return new(new Aggregate(sum, weightSum, examples), [.. answered.Select(r => r.Client.Id)], dropped, null);
    }

    async Task SendRoundAsync(ClientConnection client, RoundStart start, long seedBase, double weight, CancellationToken ct)
    {
        var message = start.Clone();
        message.Seed = unchecked(seedBase + client.Id);
        message.Weight = weight;
        await client.SendAsync(new ServerMessage { RoundStart = message }, ct).ConfigureAwait(false);
        for (int offset = 0; offset < global.Length || offset == 0; offset += ChunkValues)
        {
            int n = Math.Min(ChunkValues, global.Length - offset);
            var chunk = new ModelChunk { Round = start.Round, Offset = offset, Last = offset + n >= global.Length };
            chunk.Values.Add(new ArraySegment<float>(global, offset, n));
            await client.SendAsync(new ServerMessage { Model = chunk }, ct).ConfigureAwait(false);
            if (chunk.Last) break;
        }
    }

    async Task<(float[] Delta, long Examples)> ReceivePlainAsync(ClientConnection client, int tag, CancellationToken ct)
    {
        var (delta, examples) = await ReceiveChunksAsync(client, tag, checked((int)parameterCount), c => c.Values, c => c.Masked.Count, ct)
            .ConfigureAwait(false);
        if (examples < 1)
            throw new ClientFailedException($"client {client.Id} reported {examples} examples");
        foreach (float v in delta)
            if (!float.IsFinite(v)) throw new ClientFailedException($"client {client.Id} sent a non-finite update");
        return (delta, examples);
    }

    /// <summary>Assembles one update from its chunks: in order, of exactly <paramref name="length"/> values, of one kind.</summary>
    static async Task<(T[] Values, long Examples)> ReceiveChunksAsync<T>(ClientConnection client, int tag, int length,
        Func<UpdateChunk, Google.Protobuf.Collections.RepeatedField<T>> payload, Func<UpdateChunk, int> otherKindCount, CancellationToken ct)
    {
        var result = new T[length];
        int received = 0;
        while (true)
        {
            var chunk = await client.ReadAsync(tag, m => m.KindCase == ClientMessage.KindOneofCase.Update ? (m.Update.Round, m.Update) : (RoundOf(m), null), ct)
                .ConfigureAwait(false);
            var values = payload(chunk);
            if (chunk.Offset != received || values.Count > length - received || otherKindCount(chunk) != 0)
                throw new ClientFailedException($"client {client.Id} sent a malformed update chunk (offset {chunk.Offset}, {values.Count} values)");
            values.CopyTo(result, received);
            received += values.Count;
            if (!chunk.Last) continue;
            if (received != length)
                throw new ClientFailedException($"client {client.Id} sent {received} of {length} values");
            return (result, chunk.ExampleCount);
        }
    }

    internal static int RoundOf(ClientMessage m) => m.KindCase switch
    {
        ClientMessage.KindOneofCase.KeyAdvert => m.KeyAdvert.Round,
        ClientMessage.KindOneofCase.Update => m.Update.Round,
        ClientMessage.KindOneofCase.Shares => m.Shares.Round,
        ClientMessage.KindOneofCase.Unmask => m.Unmask.Round,
        ClientMessage.KindOneofCase.Error => m.Error.Round,
        _ => int.MaxValue,
    };

    /// <summary>Runs one client's part of a phase; a timeout, disconnect or protocol error becomes an error string.</summary>
    async Task<(ClientConnection Client, T? Value, string? Error)> Exchange<T>(ClientConnection client, CancellationToken deadline,
        Func<CancellationToken, Task<T>> body)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline, client.Closed.Token);
        try
        {
            return (client, await body(linked.Token).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (client.Closed.IsCancellationRequested)
        {
            return (client, default, "disconnected");
        }
        catch (OperationCanceledException)
        {
            return (client, default, "no answer before the deadline");
        }
        catch (ChannelClosedException)
        {
            return (client, default, "disconnected");
        }
        catch (Exception e) when (e is ClientFailedException or IOException or RpcException or InvalidOperationException)
        {
            return (client, default, e.Message);
        }
    }

    List<int> Dropped<T>(IEnumerable<(ClientConnection Client, T? Value, string? Error)> results)
    {
        var dropped = new List<int>();
        foreach (var (client, _, error) in results.Where(r => r.Error is not null))
        {
            dropped.Add(client.Id);
            log($"client {client.Id} dropped from the round: {error}");
        }
        return dropped;
    }

    string TooFew<T>(int got, string what, IEnumerable<(ClientConnection Client, T? Value, string? Error)> results) =>
        $"{got} {what} received, MinClients is {options.MinClients}" +
        (results.Any(r => r.Error is not null)
            ? " (" + string.Join("; ", results.Where(r => r.Error is not null).Select(r => $"client {r.Client.Id}: {r.Error}")) + ")"
            : "");
}
