using System.Security.Cryptography;
using NeuralCore.Federated.Wire;

namespace NeuralCore.Federated;

public sealed partial class FederatedCoordinator
{
    // Secure aggregation (Bonawitz et al. 2017, semi-honest server, authenticated key adverts; see docs/federated.md):
    //   0. keys:    each selected client sends two fresh P-256 public keys (c, s), signed with its identity key when
    //               one is registered; U1 = those whose adverts arrived and verified. t = Threshold(|U1|).
    //   1. shares:  the coordinator relays U1's keys and t; each client Shamir-shares its s private key and self-mask
    //               seed b among U1, encrypts each share for its receiver and sends them; U2 = those that did. The
    //               coordinator routes U2's shares to U2.
    //   2. masked:  each client in U2 trains, encodes w·Δ and w in fixed point, adds its pair masks with U2 and its self
    //               mask, and sends the result; U3 = those that did (at least t).
    //   3. unmask:  each client in U3 is told U3 (survivors) and U2 \ U3 (dropped) and returns its shares of b for the
    //               survivors and of s for the dropped; from any t answers the coordinator reconstructs the survivors'
    //               b (removing their self masks) and the dropped clients' s keys (recomputing and removing the masks
    //               the survivors added for them).
    async Task<Outcome> SecureRoundAsync(ClientConnection[] selected, RoundStart start, long seedBase, CancellationToken roundDeadline,
        CancellationToken ct)
    {
        bool dp = options.ClipNorm is not null;
        int tag = start.Round;
        double totalExamples = selected.Sum(c => (double)c.ExampleCount);

        // 0. Key advertisements.
        using var keyDeadline = CancellationTokenSource.CreateLinkedTokenSource(roundDeadline);
        keyDeadline.CancelAfter(options.KeyExchangeTimeout);
        var keyResults = await Task.WhenAll(selected.Select(c => Exchange(c, keyDeadline.Token, async token =>
        {
            await SendRoundAsync(c, start, seedBase, dp ? 1 : c.ExampleCount / totalExamples, token).ConfigureAwait(false);
            var advert = await c.ReadAsync(tag,
                msg => msg.KindCase == ClientMessage.KindOneofCase.KeyAdvert ? (msg.KeyAdvert.Round, msg.KeyAdvert) : (RoundOf(msg), null), token)
                .ConfigureAwait(false);
            CheckAdvert(c, tag, advert);
            return advert;
        }))).ConfigureAwait(false);
        var dropped = Dropped(keyResults);
        var u1 = keyResults.Where(r => r.Error is null).ToArray();
        if (u1.Length < options.MinClients || u1.Length == 0)
            return new(null, [], dropped, TooFew(u1.Length, "key advertisements", keyResults));
        int t = ShareThreshold(u1.Length);
        int needed = Math.Max(options.MinClients, t);
        var adverts = u1.ToDictionary(r => r.Client.Id, r => r.Value!);

        // 1. Encrypted shares, routed through the coordinator.
        var keyList = new KeyList { Round = tag, Threshold = t };
        keyList.Peers.Add(u1.Select(r => new PeerKey
        {
            ClientId = r.Client.Id, CipherKey = r.Value!.CipherKey, MaskKey = r.Value.MaskKey, Signature = r.Value.Signature,
        }));
        using var shareDeadline = CancellationTokenSource.CreateLinkedTokenSource(roundDeadline);
        shareDeadline.CancelAfter(options.KeyExchangeTimeout);
        var shareResults = await Task.WhenAll(u1.Select(r => Exchange(r.Client, shareDeadline.Token, async token =>
        {
            await r.Client.SendAsync(new ServerMessage { Keys = keyList }, token).ConfigureAwait(false);
            var bundle = await r.Client.ReadAsync(tag,
                msg => msg.KindCase == ClientMessage.KindOneofCase.Shares ? (msg.Shares.Round, msg.Shares) : (RoundOf(msg), null), token)
                .ConfigureAwait(false);
            CheckBundle(r.Client.Id, bundle, adverts.Keys);
            return bundle;
        }))).ConfigureAwait(false);
        dropped.AddRange(Dropped(shareResults));
        var u2 = shareResults.Where(r => r.Error is null).ToArray();
        if (u2.Length < needed)
            return new(null, [], dropped, TooFewForThreshold(u2.Length, "clients shared their keys", t, u1.Length, shareResults));
        var u2Ids = u2.Select(r => r.Client.Id).ToHashSet();

        // 2. Masked inputs.
        int length = checked((int)parameterCount + 1);
        var maskedResults = await Task.WhenAll(u2.Select(r => Exchange(r.Client, roundDeadline, async token =>
        {
            var list = new ShareList { Round = tag };
            list.Shares.Add(u2.SelectMany(s => s.Value!.Shares).Where(s => s.To == r.Client.Id && u2Ids.Contains(s.From)));
            await r.Client.SendAsync(new ServerMessage { Shares = list }, token).ConfigureAwait(false);
            return await ReceiveMaskedAsync(r.Client, tag, length, token).ConfigureAwait(false);
        }))).ConfigureAwait(false);
        dropped.AddRange(Dropped(maskedResults));
        var u3 = maskedResults.Where(r => r.Error is null).ToArray();
        if (u3.Length < needed)
            return new(null, [], dropped, TooFewForThreshold(u3.Length, "masked updates received", t, u1.Length, maskedResults));
        int[] survivors = [.. u3.Select(r => r.Client.Id).Order()];
        int[] lost = [.. u2Ids.Except(survivors).Order()];
        var sum = new uint[length];
        foreach (var (_, masked, _) in u3)
            for (int i = 0; i < length; i++) sum[i] = unchecked(sum[i] + masked![i]);

        // 3. Unmasking: shares of b for the survivors, of s for the dropped; any t answers suffice.
        var request = new UnmaskRequest { Round = tag };
        request.Survivors.Add(survivors);
        request.Dropped.Add(lost);
        using var revealDeadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        revealDeadline.CancelAfter(options.RevealTimeout);
        var unmaskResults = await Task.WhenAll(u3.Select(r => Exchange(r.Client, revealDeadline.Token, async token =>
        {
            await r.Client.SendAsync(new ServerMessage { UnmaskRequest = request }, token).ConfigureAwait(false);
            var response = await r.Client.ReadAsync(tag,
                msg => msg.KindCase == ClientMessage.KindOneofCase.Unmask ? (msg.Unmask.Round, msg.Unmask) : (RoundOf(msg), null), token)
                .ConfigureAwait(false);
            return CheckUnmask(r.Client.Id, response, survivors, lost);
        }))).ConfigureAwait(false);
        foreach (var (client, _, error) in unmaskResults.Where(r => r.Error is not null))
            log($"client {client.Id} did not answer the unmask request (its masked update is still counted): {error}");
        var answers = unmaskResults.Where(r => r.Error is null).ToArray();
        if (answers.Length < t)
            return new(null, [], dropped, TooFewForThreshold(answers.Length, "unmask answers", t, u1.Length, unmaskResults));
        try
        {
            foreach (int w in survivors)
            {
                var b = Shamir.Reconstruct([.. answers.Select(a => new ShamirShare(a.Client.Id, a.Value!.SelfMask[w]))], t, SecureRound.SecretBytes);
                Masking.Apply(sum, b, subtract: true);
            }
            foreach (int d in lost)
            {
                var scalar = Shamir.Reconstruct([.. answers.Select(a => new ShamirShare(a.Client.Id, a.Value!.MaskKey[d]))], t, SecureRound.SecretBytes);
                using var key = SecureRound.MaskKeyFromScalar(scalar, adverts[d].MaskKey.Span);
                foreach (int w in survivors)
                    Masking.RemovePairMask(sum, w, d, Masking.PairSeed(key, adverts[w].MaskKey.Span, tag, d, w));
            }
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            return new(null, [], dropped, $"the unmask shares did not reconstruct the masks: {e.Message}");
        }

        var decoded = Masking.Decode(sum, options.ScaleBits);
        var weighted = decoded.AsSpan(0, length - 1).ToArray();
        double weightSum = decoded[length - 1];
        if (!dp && !(weightSum > 0))
            return new(null, [], dropped, $"the decoded weight sum is {weightSum}; the masked updates did not decode");
        return new(new Aggregate(weighted, weightSum, u3.Sum(r => r.Client.ExampleCount)), survivors, dropped, null);
    }

    /// <summary>The Shamir threshold t for <paramref name="n"/> clients: max(⌊n/2⌋ + 1, ⌈f·n⌉) with
    /// f = <see cref="CoordinatorOptions.ShareThreshold"/>, at most n.</summary>
    internal int ShareThreshold(int n) => Math.Min(n, Math.Max(n / 2 + 1, (int)Math.Ceiling(options.ShareThreshold * n - 1e-9)));

    // A key advert must carry two valid P-256 keys and, for a client with a registered identity, a signature over
    // (round, client id, both keys) that verifies.
    static void CheckAdvert(ClientConnection client, int tag, KeyAdvert advert)
    {
        try
        {
            using var c = ECDiffieHellman.Create();
            c.ImportSubjectPublicKeyInfo(advert.CipherKey.Span, out _);
            using var s = ECDiffieHellman.Create();
            s.ImportSubjectPublicKeyInfo(advert.MaskKey.Span, out _);
            if (!SecureRound.IsP256(c) || !SecureRound.IsP256(s)) throw new CryptographicException("not a P-256 key");
        }
        catch (CryptographicException e)
        {
            throw new ClientFailedException($"client {client.Id} advertised a malformed public key ({e.Message}); refused");
        }
        if (client.Identity is not { } identity) return;
        if (advert.Signature.IsEmpty)
            throw new ClientFailedException($"client {client.Id} ('{client.Name}') sent an unsigned key advertisement; refused (an identity key is registered for it)");
        var payload = SecureRound.AdvertPayload(tag, client.Id, advert.CipherKey.Span, advert.MaskKey.Span);
        bool valid;
        lock (identity) valid = identity.VerifyData(payload, advert.Signature.Span, HashAlgorithmName.SHA256); // one key object per name
        if (!valid)
            throw new ClientFailedException(
                $"client {client.Id} ('{client.Name}'): the key advertisement's signature does not verify against its registered identity key; refused");
    }

    // A share bundle carries exactly one share from the sender to every other client of U1, of the right sizes.
    static void CheckBundle(int sender, ShareBundle bundle, IEnumerable<int> u1)
    {
        var expected = u1.Where(id => id != sender).Order().ToArray();
        var to = bundle.Shares.Select(s => s.To).Order().ToArray();
        if (!to.SequenceEqual(expected) || bundle.Shares.Any(s => s.From != sender || s.Ciphertext.Length != SecureRound.CiphertextBytes))
            throw new ClientFailedException(
                $"client {sender} sent shares for [{string.Join(", ", to)}]; expected one share from it for each of [{string.Join(", ", expected)}]");
    }

    // An unmask answer has one share of b per survivor and one share of s per dropped client, each Shamir.ShareBytes long.
    static (Dictionary<int, byte[]> SelfMask, Dictionary<int, byte[]> MaskKey) CheckUnmask(int client, UnmaskResponse response, int[] survivors, int[] lost)
    {
        static Dictionary<int, byte[]>? Read(IEnumerable<KeyShare> shares, int[] owners)
        {
            var result = new Dictionary<int, byte[]>();
            foreach (var share in shares)
                if (share.Value.Length != Shamir.ShareBytes || !result.TryAdd(share.Owner, share.Value.ToByteArray())) return null;
            return result.Keys.Order().SequenceEqual(owners) ? result : null;
        }
        var selfMask = Read(response.SelfMaskShares, survivors);
        var maskKey = Read(response.MaskKeyShares, lost);
        if (selfMask is null || maskKey is null)
            throw new ClientFailedException(
                $"client {client} answered the unmask request with shares for [{string.Join(", ", response.SelfMaskShares.Select(s => s.Owner))}] / " +
                $"[{string.Join(", ", response.MaskKeyShares.Select(s => s.Owner))}]; expected self-mask shares for [{string.Join(", ", survivors)}] " +
                $"and mask-key shares for [{string.Join(", ", lost)}]");
        return (selfMask, maskKey);
    }

    string TooFewForThreshold<T>(int got, string what, int t, int n, IEnumerable<(ClientConnection Client, T? Value, string? Error)> results) =>
        $"{got} {what}; the secret-sharing threshold is t = {t} of {n} (MinClients {options.MinClients}), so the sum cannot be unmasked" +
        (results.Any(r => r.Error is not null)
            ? " (" + string.Join("; ", results.Where(r => r.Error is not null).Select(r => $"client {r.Client.Id}: {r.Error}")) + ")"
            : "");

    async Task<uint[]> ReceiveMaskedAsync(ClientConnection client, int tag, int length, CancellationToken ct) =>
        (await ReceiveChunksAsync(client, tag, length, c => c.Masked, c => c.Values.Count, ct).ConfigureAwait(false)).Values;
}
