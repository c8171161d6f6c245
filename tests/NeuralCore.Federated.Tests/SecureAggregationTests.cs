using System.Collections.Concurrent;
using System.Security.Cryptography;
using Grpc.Core;
using NeuralCore.Federated;
using NeuralCore.Federated.Wire;
using static NeuralCore.Federated.Tests.FederatedAveragingTests;

namespace NeuralCore.Federated.Tests;

[Collection(GlobalRngCollection.Name)]
public class SecureAggregationTests
{
    /// <summary>Clients 1..n through the key advertisement and share exchange, as the coordinator would route them.</summary>
    static SecureRound[] SharedRounds(int n, int t, int tag = 5)
    {
        var rounds = Enumerable.Range(1, n).Select(id => new SecureRound(tag, id)).ToArray();
        var list = new KeyList { Round = tag, Threshold = t };
        foreach (var r in rounds)
        {
            var advert = r.Advertise(null);
            list.Peers.Add(new PeerKey { ClientId = r.Self, CipherKey = advert.CipherKey, MaskKey = advert.MaskKey });
        }
        var bundles = rounds.Select(r => r.ShareKeys(list)).ToArray();
        foreach (var r in rounds)
        {
            var shares = new ShareList { Round = tag };
            shares.Shares.Add(bundles.SelectMany(b => b.Shares).Where(s => s.To == r.Self));
            r.AcceptShares(shares);
        }
        return rounds;
    }

    static UnmaskRequest Request(int tag, int[] survivors, int[] dropped)
    {
        var request = new UnmaskRequest { Round = tag };
        request.Survivors.Add(survivors);
        request.Dropped.Add(dropped);
        return request;
    }

    [Fact]
    public void UnmaskRequestForBothSharesOfOneClient_IsRefused()
    {
        var rounds = SharedRounds(4, 3);
        try
        {
            var client = rounds[0];
            var e = Assert.Throws<InvalidOperationException>(() => client.Unmask(Request(5, [1, 2, 3], [3, 4])));
            Assert.Contains("client(s) 3 as both survivor and dropped", e.Message);
            // Survivors and dropped must be exactly the clients that shared, with this client a survivor and at least t survivors.
            Assert.Contains("are not the clients that shared keys",
                Assert.Throws<InvalidOperationException>(() => client.Unmask(Request(5, [1, 2, 3], []))).Message);
            Assert.Contains("does not list this client (1)",
                Assert.Throws<InvalidOperationException>(() => client.Unmask(Request(5, [2, 3, 4], [1]))).Message);
            Assert.Contains("names 2 survivors; at least t = 3",
                Assert.Throws<InvalidOperationException>(() => client.Unmask(Request(5, [1, 2], [3, 4]))).Message);
            // A proper request is answered once: shares of b for survivors, of the mask key for the dropped.
            var answer = client.Unmask(Request(5, [1, 2, 3], [4]));
            Assert.Equal([1, 2, 3], answer.SelfMaskShares.Select(s => s.Owner));
            Assert.Equal([4], answer.MaskKeyShares.Select(s => s.Owner));
            // A second request (which could ask for the other secret of the same clients) is refused.
            Assert.Contains("second unmask request is refused",
                Assert.Throws<InvalidOperationException>(() => client.Unmask(Request(5, [1, 2, 3, 4], []))).Message);
        }
        finally
        {
            foreach (var r in rounds) r.Dispose();
        }
    }

    [Fact]
    public void DroppedClientsMaskKey_IsReconstructedFromAnyTShares()
    {
        const int N = 5, T = 3;
        var rounds = SharedRounds(N, T);
        try
        {
            // Client 5 dropped; every 3 of the 4 survivors reconstruct its key, which reproduces its pair seeds.
            var answers = rounds[..4].Select(r => (r.Self, r.Unmask(Request(5, [1, 2, 3, 4], [5])))).ToArray();
            var list = new KeyList { Round = 5, Threshold = T };
            var adverts = rounds.Select(r => r.Advertise(null)).ToArray();
            foreach (var skip in new[] { 0, 1, 2, 3 })
            {
                var shares = answers.Where((_, i) => i != skip).Select(a => new ShamirShare(a.Self, a.Item2.MaskKeyShares.Single().Value.ToByteArray())).ToArray();
                var scalar = Shamir.Reconstruct(shares, T, SecureRound.SecretBytes);
                using var key = SecureRound.MaskKeyFromScalar(scalar, adverts[4].MaskKey.Span);
                Assert.Equal(adverts[4].MaskKey.ToByteArray(), key.ExportSubjectPublicKeyInfo());
            }
            // A scalar that does not belong to the advertised key is refused.
            Assert.Throws<CryptographicException>(() => SecureRound.MaskKeyFromScalar(RandomNumberGenerator.GetBytes(32), adverts[4].MaskKey.Span));
        }
        finally
        {
            foreach (var r in rounds) r.Dispose();
        }
    }

    [Fact]
    public void UnsafeThresholdsAndTamperedShares_AreRefused()
    {
        using var a = new SecureRound(2, 1);
        using var b = new SecureRound(2, 2);
        var list = new KeyList { Round = 2, Threshold = 1 };
        foreach (var r in new[] { a, b })
        {
            var advert = r.Advertise(null);
            list.Peers.Add(new PeerKey { ClientId = r.Self, CipherKey = advert.CipherKey, MaskKey = advert.MaskKey });
        }
        Assert.Contains("threshold t = 1 for 2 clients is refused",
            Assert.Throws<InvalidOperationException>(() => a.ShareKeys(list)).Message);
        list.Threshold = 2;
        var bundle = a.ShareKeys(list);
        b.ShareKeys(list);
        var bytes = bundle.Shares[0].Ciphertext.ToByteArray();
        bytes[10] ^= 0x40;
        var tampered = new ShareList { Round = 2 };
        tampered.Shares.Add(new EncryptedShare(bundle.Shares[0]) { Ciphertext = Google.Protobuf.ByteString.CopyFrom(bytes) });
        Assert.Contains("does not decrypt", Assert.Throws<InvalidOperationException>(() => b.AcceptShares(tampered)).Message);
    }

    static async Task<(float[] Initial, RoundLog Round, float[] Final)> RunWithDropsAsync(int seed, int minClients, params SecureDropPoint[] drops)
    {
        var data = FederatedRun.Data(ShardSize * drops.Length, seed);
        var options = FullBatch with
        {
            MinClients = minClients, SecureAggregation = true, RoundTimeout = TimeSpan.FromSeconds(20), MaxRoundRetries = 0,
        };
        await using var run = await FederatedRun.StartAsync(options);
        var initial = run.Coordinator.GlobalWeights;
        for (int k = 0; k < drops.Length; k++) await run.AddClientAsync(Shard(data, k), dropAt: drops[k]);
        var round = Assert.Single(await run.Coordinator.RunAsync(1));
        return (initial, round, run.Coordinator.GlobalWeights);
    }

    [Fact]
    public async Task ClientDroppingAfterSharingItsKeys_IsUnmaskedFromTheSurvivorsShares()
    {
        // Client 4 shares its keys, so the others mask with it, then leaves; its mask key is rebuilt from 3 shares (t = 3 of 4).
        var (initial, round, final) = await RunWithDropsAsync(4, 3,
            SecureDropPoint.None, SecureDropPoint.None, SecureDropPoint.None, SecureDropPoint.AfterSharing);
        Assert.Equal(RoundStatus.Completed, round.Status);
        Assert.Equal([4], round.Dropped);
        Assert.Equal([1, 2, 3], round.Answered);
        var data = FederatedRun.Data(ShardSize * 4, 4);
        var survivors = new NeuralCore.Data.Subset(data, Enumerable.Range(0, 3 * ShardSize));
        AssertClose(LargeBatchSgd(initial, survivors, 1, 0.5), final, 1e-5);
    }

    [Fact]
    public async Task ClientDroppingAfterItsMaskedUpdate_IsCountedAndItsSelfMaskRebuilt()
    {
        // Client 2's masked update is in the sum; it leaves before unmasking, so its self mask is rebuilt from the others' shares.
        var (initial, round, final) = await RunWithDropsAsync(6, 3,
            SecureDropPoint.None, SecureDropPoint.AfterMaskedInput, SecureDropPoint.None, SecureDropPoint.None);
        Assert.Equal(RoundStatus.Completed, round.Status);
        Assert.Empty(round.Dropped);
        Assert.Equal([1, 2, 3, 4], round.Answered);
        AssertClose(LargeBatchSgd(initial, FederatedRun.Data(ShardSize * 4, 6), 1, 0.5), final, 1e-5);
    }

    [Fact]
    public async Task FewerSurvivorsThanTheThreshold_FailsTheRoundAndLeavesTheModel()
    {
        // t = 3 of 4; two clients leave after sharing, so only 2 masked updates arrive.
        var (initial, round, final) = await RunWithDropsAsync(7, 2,
            SecureDropPoint.AfterSharing, SecureDropPoint.None, SecureDropPoint.AfterSharing, SecureDropPoint.None);
        Assert.Equal(RoundStatus.Skipped, round.Status);
        Assert.Contains("2 masked updates received; the secret-sharing threshold is t = 3 of 4", round.Reason);
        Assert.Contains("client 1: disconnected", round.Reason);
        Assert.Equal(initial, final);
    }

    [Fact]
    public async Task UnsignedOrForgedKeyAdvertisements_AreRefused()
    {
        var keys = Enumerable.Range(0, 4).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToArray();
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var lines = new ConcurrentQueue<string>();
            var options = FullBatch with
            {
                MinClients = 2, SecureAggregation = true, MaxRoundRetries = 0, RoundTimeout = TimeSpan.FromSeconds(20),
                ClientIdentities = Enumerable.Range(0, 4).ToDictionary(k => $"client{k}", k => keys[k].ExportSubjectPublicKeyInfo()),
            };
            var data = FederatedRun.Data(ShardSize * 4, 9);
            await using var run = await FederatedRun.StartAsync(options, log: lines.Enqueue);
            var initial = run.Coordinator.GlobalWeights;
            await run.AddClientAsync(Shard(data, 0), keys[0]);
            await run.AddClientAsync(Shard(data, 1), keys[1]);
            await run.AddClientAsync(Shard(data, 2), forger);   // signs with a key that is not client2's
            await run.AddClientAsync(Shard(data, 3));           // does not sign
            var round = Assert.Single(await run.Coordinator.RunAsync(1));
            Assert.Equal(RoundStatus.Completed, round.Status);
            Assert.Equal([1, 2], round.Answered);
            Assert.Equal([3, 4], round.Dropped);
            Assert.Contains(lines, l => l.Contains("client 3 ('client2'): the key advertisement's signature does not verify against its registered identity key; refused"));
            Assert.Contains(lines, l => l.Contains("client 4 ('client3') sent an unsigned key advertisement; refused"));
            AssertClose(LargeBatchSgd(initial, new NeuralCore.Data.Subset(data, Enumerable.Range(0, 2 * ShardSize)), 1, 0.5),
                run.Coordinator.GlobalWeights, 1e-5);

            // A name without a registered identity cannot connect at all.
            var stranger = new FederatedClient(FederatedRun.NewModel(), Shard(data, 0), run.Coordinator.Port, "stranger");
            var e = await Assert.ThrowsAsync<RpcException>(() => stranger.RunAsync());
            Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
            Assert.Contains("No identity key is registered for a client named 'stranger'", e.Status.Detail);
        }
        finally
        {
            foreach (var k in keys) k.Dispose();
        }
    }

    [Fact]
    public void ThresholdOptions_AreCheckedAndAlwaysAMajority()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FederatedCoordinator(FederatedRun.NewModel, new CoordinatorOptions { ShareThreshold = 0.5 }));
        Assert.Contains("strict majority", e.Message);
        Assert.Throws<ArgumentException>(() => new FederatedCoordinator(FederatedRun.NewModel,
            new CoordinatorOptions { ClientIdentities = new Dictionary<string, byte[]> { ["a"] = [1, 2, 3] }, SecureAggregation = true }));
        Assert.Throws<ArgumentException>(() => new FederatedCoordinator(FederatedRun.NewModel,
            new CoordinatorOptions { ClientIdentities = new Dictionary<string, byte[]>() }));
        // A 256-bit key on another curve is not accepted as an identity, on either side.
        using var brainpool = ECDsa.Create(ECCurve.NamedCurves.brainpoolP256r1);
        Assert.Contains("not a P-256 key", Assert.Throws<ArgumentException>(() => new FederatedCoordinator(FederatedRun.NewModel, new CoordinatorOptions
        {
            SecureAggregation = true, ClientIdentities = new Dictionary<string, byte[]> { ["a"] = brainpool.ExportSubjectPublicKeyInfo() },
        })).Message);
        Assert.Throws<ArgumentException>(() => new FederatedClient(FederatedRun.NewModel(), FederatedRun.Data(4, 1), 5050, identity: brainpool));
        var coordinator = new FederatedCoordinator(FederatedRun.NewModel, new CoordinatorOptions { ShareThreshold = 0.51 });
        Assert.Equal([1, 2, 2, 3, 3, 4, 4, 6, 51], new[] { 1, 2, 3, 4, 5, 6, 7, 10, 100 }.Select(coordinator.ShareThreshold));
        var twoThirds = new FederatedCoordinator(FederatedRun.NewModel, new CoordinatorOptions());
        Assert.Equal([1, 2, 2, 3, 4, 4, 5, 7, 67], new[] { 1, 2, 3, 4, 5, 6, 7, 10, 100 }.Select(twoThirds.ShareThreshold));
    }
}
