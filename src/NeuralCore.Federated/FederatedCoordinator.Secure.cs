using Google.Protobuf;
using NeuralCore.Federated.Wire;

namespace NeuralCore.Federated;

public sealed partial class FederatedCoordinator
{
    // Secure aggregation, semi-honest, without secret sharing (see docs/federated.md):
    //   1. keys:    each selected client sends a fresh P-256 public key; U1 = those that did.
    //   2. masked:  the coordinator relays U1's keys; each client trains, encodes w·Δ and w in fixed point, adds its
    //               pairwise masks with every peer in U1 (and a self mask) and sends the result; U2 = those that did.
    //   3. reveal:  each client in U2 is told U1 \ U2 and reveals its pair seeds with those clients (and its self-mask
    //               seed); all of U2 must answer, else the round fails.
    //   4. the coordinator sums U2's vectors mod 2^32, removes the dropped pairs' masks and the self masks, and decodes.
    async Task<Outcome> SecureRoundAsync(ClientConnection[] selected, RoundStart start, long seedBase, CancellationToken roundDeadline,
        CancellationToken ct)
    {
        bool dp = options.ClipNorm is not null;
        double totalExamples = selected.Sum(c => (double)c.ExampleCount);
        using var keyDeadline = CancellationTokenSource.CreateLinkedTokenSource(roundDeadline);
        keyDeadline.CancelAfter(options.KeyExchangeTimeout);
        var keyResults = await Task.WhenAll(selected.Select(c => Exchange(c, keyDeadline.Token, async token =>
        {
            await SendRoundAsync(c, start, seedBase, dp ? 1 : c.ExampleCount / totalExamples, token).ConfigureAwait(false);
            return await c.ReadAsync(start.Round,
                msg => msg.KindCase == ClientMessage.KindOneofCase.KeyAdvert ? (msg.KeyAdvert.Round, msg.KeyAdvert) : (RoundOf(msg), null), token)
                .ConfigureAwait(false);
        }))).ConfigureAwait(false);
        var dropped = Dropped(keyResults);
        var u1 = keyResults.Where(r => r.Error is null).ToArray();
        if (u1.Length < options.MinClients)
            return new(null, [], dropped, TooFew(u1.Length, "public keys", keyResults));

        var keyList = new KeyList { Round = start.Round };
        keyList.Peers.Add(u1.Select(r => new PeerKey { ClientId = r.Client.Id, PublicKey = r.Value!.PublicKey }));
        int length = checked((int)parameterCount + 1);
        var maskedResults = await Task.WhenAll(u1.Select(r => Exchange(r.Client, roundDeadline, async token =>
        {
            await r.Client.SendAsync(new ServerMessage { Keys = keyList }, token).ConfigureAwait(false);
            return await ReceiveMaskedAsync(r.Client, start.Round, length, token).ConfigureAwait(false);
        }))).ConfigureAwait(false);
        dropped.AddRange(Dropped(maskedResults));
        var u2 = maskedResults.Where(r => r.Error is null).ToArray();
        if (u2.Length < options.MinClients)
            return new(null, [], dropped, TooFew(u2.Length, "masked updates", maskedResults));

        var lost = u1.Select(r => r.Client.Id).Except(u2.Select(r => r.Client.Id)).Order().ToArray();
        var sum = new uint[length];
        foreach (var (_, masked, _) in u2)
            for (int i = 0; i < length; i++) sum[i] = unchecked(sum[i] + masked![i]);
        if (lost.Length > 0 || options.SelfMasks)
        {
            var request = new RevealRequest { Round = start.Round };
            request.Dropped.Add(lost);
            using var revealDeadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            revealDeadline.CancelAfter(options.RevealTimeout);
            var reveals = await Task.WhenAll(u2.Select(r => Exchange(r.Client, revealDeadline.Token, async token =>
            {
                await r.Client.SendAsync(new ServerMessage { RevealRequest = request }, token).ConfigureAwait(false);
                var reveal = await r.Client.ReadAsync(start.Round,
                    msg => msg.KindCase == ClientMessage.KindOneofCase.Reveal ? (msg.Reveal.Round, msg.Reveal) : (RoundOf(msg), null), token)
                    .ConfigureAwait(false);
                CheckReveal(r.Client.Id, reveal, lost);
                return reveal;
            }))).ConfigureAwait(false);
            var silent = reveals.Where(r => r.Error is not null).ToArray();
            if (silent.Length > 0)
            {
                dropped.AddRange(Dropped(reveals));
                return new(null, [], dropped,
                    "survivors did not reveal the seeds needed to unmask the sum (" +
                    string.Join("; ", silent.Select(r => $"client {r.Client.Id}: {r.Error}")) + ")");
            }
            foreach (var (client, reveal, _) in reveals)
            {
                foreach (var pair in reveal!.Seeds)
                    Masking.RemovePairMask(sum, client.Id, pair.Peer, pair.Seed.Span);
                if (options.SelfMasks)
                    Masking.Apply(sum, reveal.SelfSeed.Span, subtract: true);
            }
        }
        var decoded = Masking.Decode(sum, options.ScaleBits);
        var weighted = decoded.AsSpan(0, length - 1).ToArray();
        double weightSum = decoded[length - 1];
        if (!dp && !(weightSum > 0))
            return new(null, [], dropped, $"the decoded weight sum is {weightSum}; the masked updates did not decode");
        return new(new Aggregate(weighted, weightSum, u2.Sum(r => r.Client.ExampleCount)), [.. u2.Select(r => r.Client.Id).Order()], dropped, null);
    }

    void CheckReveal(int client, SeedReveal reveal, int[] lost)
    {
        var peers = reveal.Seeds.Select(s => s.Peer).Order().ToArray();
        if (!peers.SequenceEqual(lost) || reveal.Seeds.Any(s => s.Seed.Length != 32))
            throw new ClientFailedException($"client {client} revealed seeds for [{string.Join(", ", peers)}], expected [{string.Join(", ", lost)}]");
        if (options.SelfMasks && reveal.SelfSeed.Length != 32)
            throw new ClientFailedException($"client {client} revealed no 32-byte self-mask seed");
    }

    async Task<uint[]> ReceiveMaskedAsync(ClientConnection client, int tag, int length, CancellationToken ct) =>
        (await ReceiveChunksAsync(client, tag, length, c => c.Masked, c => c.Values.Count, ct).ConfigureAwait(false)).Values;
}
