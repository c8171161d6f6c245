using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using NeuralCore.Federated.Wire;

namespace NeuralCore.Federated;

/// <summary>
/// A client's side of one secure-aggregation round (Bonawitz et al. 2017, the semi-honest protocol with
/// authenticated key advertisements): two fresh P-256 key pairs (c for encrypting shares, s for pair masks) and a
/// self-mask seed b; Shamir t-of-n shares of s's private key and of b for every peer, encrypted with AES-256-GCM under
/// a key agreed on the c keys; pairwise and self masks on the encoded input; and the answer to the coordinator's
/// unmask request, which reveals for each client either its share of b (survivor) or its share of s (dropped), never
/// both, and is given once per round. Every check that fails throws <see cref="InvalidOperationException"/>, which the
/// client reports to the coordinator instead of answering.
/// </summary>
internal sealed class SecureRound : IDisposable
{
    /// <summary>Bytes of a P-256 private scalar and of the self-mask seed.</summary>
    public const int SecretBytes = 32;

    const int NonceBytes = 12, TagBytes = 16, PlainBytes = 8 + 2 * Shamir.ShareBytes;

    /// <summary>Bytes of one encrypted share (ciphertext and tag).</summary>
    public const int CiphertextBytes = PlainBytes + TagBytes;

    readonly ECDiffieHellman cipherKey = Masking.NewKey(), maskKey = Masking.NewKey();
    readonly byte[] selfSeed = RandomNumberGenerator.GetBytes(SecretBytes);
    readonly Dictionary<int, (byte[] MaskKey, byte[] SelfSeed)> held = [];
    Dictionary<int, PeerKey>? peers;
    HashSet<int>? sharers;
    bool unmasked;

    /// <summary>Starts round <paramref name="round"/> (the wire tag) for client <paramref name="self"/>.</summary>
    public SecureRound(int round, int self) => (Round, Self) = (round, self);

    /// <summary>The round's wire tag.</summary>
    public int Round { get; }

    /// <summary>This client's id.</summary>
    public int Self { get; }

    /// <summary>The threshold t the coordinator announced (0 before the key list).</summary>
    public int Threshold { get; private set; }

    /// <summary>The clients that shared their keys with this one, itself included (U2); null before the share list.</summary>
    public IReadOnlyCollection<int>? Sharers => sharers;

    /// <summary>Step 0: the two public keys, signed with <paramref name="identity"/> when given.</summary>
    public KeyAdvert Advertise(ECDsa? identity)
    {
        byte[] c = cipherKey.ExportSubjectPublicKeyInfo(), s = maskKey.ExportSubjectPublicKeyInfo();
        var advert = new KeyAdvert { Round = Round, CipherKey = ByteString.CopyFrom(c), MaskKey = ByteString.CopyFrom(s) };
        if (identity is not null)
            advert.Signature = ByteString.CopyFrom(identity.SignData(AdvertPayload(Round, Self, c, s), HashAlgorithmName.SHA256));
        return advert;
    }

    /// <summary>The bytes a key advertisement's signature covers: a label, the round tag, the client id and both keys.</summary>
    public static byte[] AdvertPayload(int round, int client, ReadOnlySpan<byte> cipherKey, ReadOnlySpan<byte> maskKey)
    {
        var label = Encoding.ASCII.GetBytes("neuralcore-secagg-advert-v1");
        var payload = new byte[label.Length + 16 + cipherKey.Length + maskKey.Length];
        var span = payload.AsSpan();
        label.CopyTo(span);
        span = span[label.Length..];
        BinaryPrimitives.WriteInt32LittleEndian(span, round);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], client);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], cipherKey.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], maskKey.Length);
        cipherKey.CopyTo(span[16..]);
        maskKey.CopyTo(span[(16 + cipherKey.Length)..]);
        return payload;
    }

    /// <summary>Step 1: checks the key list (this client's keys present, t &gt; n/2), splits the mask key and b into
    /// t-of-n Shamir shares at the peers' ids, keeps its own and encrypts the others.</summary>
    /// <exception cref="InvalidOperationException">The key list is malformed or its threshold is unsafe.</exception>
    /// <exception cref="CryptographicException">A peer's cipher key is not a valid P-256 public key.</exception>
    public ShareBundle ShareKeys(KeyList list)
    {
        if (peers is not null) throw new InvalidOperationException($"Secure round {Round}: a second key list arrived.");
        var byId = new Dictionary<int, PeerKey>();
        foreach (var peer in list.Peers)
            if (peer.ClientId < 1 || !byId.TryAdd(peer.ClientId, peer))
                throw new InvalidOperationException($"Secure round {Round}: the key list names client {peer.ClientId} twice or with an invalid id.");
        if (!byId.TryGetValue(Self, out var mine) || !mine.MaskKey.Span.SequenceEqual(maskKey.ExportSubjectPublicKeyInfo())
            || !mine.CipherKey.Span.SequenceEqual(cipherKey.ExportSubjectPublicKeyInfo()))
            throw new InvalidOperationException($"Secure round {Round}: the key list does not carry this client's ({Self}) keys as advertised.");
        int n = byId.Count, t = list.Threshold;
        if (t <= n / 2 || t > n)
            throw new InvalidOperationException(
                $"Secure round {Round}: threshold t = {t} for {n} clients is refused; it must be above n/2 and at most n.");
        (peers, Threshold) = (byId, t);
        int[] ids = [.. byId.Keys.Order()];
        var maskShares = Shamir.Split(maskKey.ExportParameters(true).D, t, ids);
        var seedShares = Shamir.Split(selfSeed, t, ids);
        var bundle = new ShareBundle { Round = Round };
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == Self)
            {
                held[Self] = (maskShares[i].Y, seedShares[i].Y);
                continue;
            }
            var plain = new byte[PlainBytes];
            BinaryPrimitives.WriteInt32LittleEndian(plain, Self);
            BinaryPrimitives.WriteInt32LittleEndian(plain.AsSpan(4), ids[i]);
            maskShares[i].Y.CopyTo(plain, 8);
            seedShares[i].Y.CopyTo(plain, 8 + Shamir.ShareBytes);
            var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
            var sealedBytes = new byte[CiphertextBytes];
            using (var aes = new AesGcm(ShareKey(byId[ids[i]].CipherKey.Span, ids[i]), TagBytes))
                aes.Encrypt(nonce, plain, sealedBytes.AsSpan(0, PlainBytes), sealedBytes.AsSpan(PlainBytes), Aad(Round, Self, ids[i]));
            CryptographicOperations.ZeroMemory(plain);
            bundle.Shares.Add(new EncryptedShare { From = Self, To = ids[i], Nonce = ByteString.CopyFrom(nonce), Ciphertext = ByteString.CopyFrom(sealedBytes) });
        }
        return bundle;
    }

    /// <summary>Step 1, receiving side: decrypts the shares the other clients sent this one; U2 is their senders and
    /// this client.</summary>
    /// <exception cref="InvalidOperationException">A share is not addressed to this client, comes from a client not in
    /// the key list, repeats, does not decrypt, or fewer than t clients shared.</exception>
    public void AcceptShares(ShareList list)
    {
        if (peers is null) throw new InvalidOperationException($"Secure round {Round}: shares arrived before the key list.");
        if (sharers is not null) throw new InvalidOperationException($"Secure round {Round}: a second share list arrived.");
        var from = new HashSet<int> { Self };
        foreach (var share in list.Shares)
        {
            if (share.To != Self || share.From == Self || !peers.TryGetValue(share.From, out var sender) || !from.Add(share.From))
                throw new InvalidOperationException(
                    $"Secure round {Round}: a share from client {share.From} to client {share.To} is not addressed to this client ({Self}) by a listed peer, or repeats.");
            if (share.Nonce.Length != NonceBytes || share.Ciphertext.Length != CiphertextBytes)
                throw new InvalidOperationException($"Secure round {Round}: the share from client {share.From} has a malformed nonce or ciphertext.");
            var plain = new byte[PlainBytes];
            try
            {
                using var aes = new AesGcm(ShareKey(sender.CipherKey.Span, share.From), TagBytes);
                aes.Decrypt(share.Nonce.Span, share.Ciphertext.Span[..PlainBytes], share.Ciphertext.Span[PlainBytes..], plain, Aad(Round, share.From, Self));
            }
            catch (AuthenticationTagMismatchException)
            {
                throw new InvalidOperationException($"Secure round {Round}: the share from client {share.From} does not decrypt (tampered or misrouted).");
            }
            if (BinaryPrimitives.ReadInt32LittleEndian(plain) != share.From || BinaryPrimitives.ReadInt32LittleEndian(plain.AsSpan(4)) != Self)
                throw new InvalidOperationException($"Secure round {Round}: the share from client {share.From} names other clients inside.");
            held[share.From] = (plain.AsSpan(8, Shamir.ShareBytes).ToArray(), plain.AsSpan(8 + Shamir.ShareBytes, Shamir.ShareBytes).ToArray());
        }
        if (from.Count < Threshold)
            throw new InvalidOperationException(
                $"Secure round {Round}: {from.Count} clients shared their keys; the threshold is {Threshold}, so a dropout could not be recovered.");
        sharers = from;
    }

    /// <summary>Step 2: adds the pair masks with every other client of U2 (+ towards larger ids, − towards smaller)
    /// and the self mask to an encoded input.</summary>
    /// <exception cref="InvalidOperationException">The shares have not arrived yet.</exception>
    public void Mask(uint[] encoded)
    {
        if (sharers is null || peers is null) throw new InvalidOperationException($"Secure round {Round}: masking before the shares arrived.");
        foreach (int peer in sharers.Order())
        {
            if (peer == Self) continue;
            var seed = Masking.PairSeed(maskKey, peers[peer].MaskKey.Span, Round, Self, peer);
            Masking.Apply(encoded, seed, subtract: Self > peer);
        }
        Masking.Apply(encoded, selfSeed, subtract: false);
    }

    /// <summary>Step 3: this client's shares of b for every survivor and of the mask key for every dropped client.
    /// Answered once per round; a request that names a client as both survivor and dropped, leaves out or adds
    /// clients of U2, omits this client from the survivors or names fewer than t survivors is refused.</summary>
    /// <exception cref="InvalidOperationException">The request is refused (the message says why).</exception>
    public UnmaskResponse Unmask(UnmaskRequest request)
    {
        if (sharers is null) throw new InvalidOperationException($"Secure round {Round}: an unmask request arrived before the shares.");
        if (unmasked)
            throw new InvalidOperationException(
                $"Secure round {Round}: a second unmask request is refused; each round is unmasked once, so no client's self-mask seed and mask key are both revealed.");
        var both = request.Survivors.Intersect(request.Dropped).Order().ToArray();
        if (both.Length > 0)
            throw new InvalidOperationException(
                $"Secure round {Round}: the unmask request names client(s) {string.Join(", ", both)} as both survivor and dropped; " +
                "revealing a client's self-mask share and mask-key share together would unmask its input, so it is refused.");
        var named = request.Survivors.Concat(request.Dropped).ToArray();
        if (named.Length != named.Distinct().Count() || !named.ToHashSet().SetEquals(sharers))
            throw new InvalidOperationException(
                $"Secure round {Round}: the unmask request's survivors and dropped clients [{string.Join(", ", named.Order())}] " +
                $"are not the clients that shared keys [{string.Join(", ", sharers.Order())}].");
        if (!request.Survivors.Contains(Self))
            throw new InvalidOperationException($"Secure round {Round}: the unmask request does not list this client ({Self}) as a survivor.");
        if (request.Survivors.Count < Threshold)
            throw new InvalidOperationException(
                $"Secure round {Round}: the unmask request names {request.Survivors.Count} survivors; at least t = {Threshold} are needed.");
        unmasked = true;
        var response = new UnmaskResponse { Round = Round };
        foreach (int w in request.Survivors)
            response.SelfMaskShares.Add(new KeyShare { Owner = w, Value = ByteString.CopyFrom(held[w].SelfSeed) });
        foreach (int d in request.Dropped)
            response.MaskKeyShares.Add(new KeyShare { Owner = d, Value = ByteString.CopyFrom(held[d].MaskKey) });
        return response;
    }

    /// <summary>Whether <paramref name="key"/> is on the NIST P-256 curve (OID 1.2.840.10045.3.1.7).</summary>
    public static bool IsP256(ECAlgorithm key)
    {
        var curve = key.ExportParameters(false).Curve;
        return curve.IsNamed && (curve.Oid.Value == "1.2.840.10045.3.1.7" || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "ECDH_P256");
    }

    /// <summary>The coordinator's view of a dropped client's mask key: the P-256 key with the reconstructed private
    /// scalar <paramref name="d"/>, checked against the public key it advertised.</summary>
    /// <exception cref="CryptographicException">The scalar does not belong to the advertised public key.</exception>
    public static ECDiffieHellman MaskKeyFromScalar(byte[] d, ReadOnlySpan<byte> advertisedPublicKey)
    {
        using var advertised = ECDiffieHellman.Create();
        advertised.ImportSubjectPublicKeyInfo(advertisedPublicKey, out _);
        var parameters = advertised.ExportParameters(false);
        var key = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
        var derived = key.ExportParameters(false).Q;
        if (!derived.X!.AsSpan().SequenceEqual(parameters.Q.X) || !derived.Y!.AsSpan().SequenceEqual(parameters.Q.Y))
        {
            key.Dispose();
            throw new CryptographicException("The reconstructed mask key does not match the public key its owner advertised.");
        }
        return key;
    }

    // AES-256-GCM key of the pair (Self, peer): SHA-256 over a label, the round, both ids (smaller first) and ECDH(c, c').
    byte[] ShareKey(ReadOnlySpan<byte> peerCipherKey, int peer)
    {
        using var other = ECDiffieHellman.Create();
        other.ImportSubjectPublicKeyInfo(peerCipherKey, out _);
        var prefix = new byte[40];
        Encoding.ASCII.GetBytes("neuralcore-secagg-share-v1").CopyTo(prefix, 0);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(28), Round);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(32), Math.Min(Self, peer));
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(36), Math.Max(Self, peer));
        return cipherKey.DeriveKeyFromHash(other.PublicKey, HashAlgorithmName.SHA256, prefix, null);
    }

    static byte[] Aad(int round, int from, int to)
    {
        var aad = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(aad, round);
        BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(4), from);
        BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(8), to);
        return aad;
    }

    /// <summary>Releases the round's keys and wipes the self-mask seed.</summary>
    public void Dispose()
    {
        cipherKey.Dispose();
        maskKey.Dispose();
        CryptographicOperations.ZeroMemory(selfSeed);
    }
}
