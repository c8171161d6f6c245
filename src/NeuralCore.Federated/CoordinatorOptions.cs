namespace NeuralCore.Federated;

/// <summary>Settings of a <see cref="FederatedCoordinator"/>; every value is checked when the coordinator is built.</summary>
public sealed record CoordinatorOptions
{
    /// <summary>TCP port on 127.0.0.1 (0 picks a free port; read it from <see cref="FederatedCoordinator.Port"/>).</summary>
    public int Port { get; init; }

    /// <summary>Seed of client selection and of the DP noise.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Fraction C of the connected clients selected each round, in (0, 1].</summary>
    public double ClientFraction { get; init; } = 1;

    /// <summary>Fewest clients a round selects, and fewest answers it needs to complete.</summary>
    public int MinClients { get; init; } = 1;

    /// <summary>Local epochs E each client runs per round.</summary>
    public int LocalEpochs { get; init; } = 1;

    /// <summary>Local batch size B (0 = the whole shard, one step per epoch).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The clients' SGD learning rate.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>FedProx's μ: clients minimize loss + μ/2 ‖w − w_global‖² (0 = plain FedAvg).</summary>
    public double ProxMu { get; init; }

    /// <summary>How long a round waits for updates after it starts; clients that have not answered by then are dropped.</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Secure rounds: how long to wait for the clients' public keys.</summary>
    public TimeSpan KeyExchangeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Secure rounds: how long to wait for the survivors' seed reveals.</summary>
    public TimeSpan RevealTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Times a failed round (too few answers) is retried before it is skipped.</summary>
    public int MaxRoundRetries { get; init; } = 1;

    /// <summary>Pause before a failed round is retried.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Directory where the global model, the round number and the RNG state are saved after every round and
    /// from which a new coordinator resumes (null = not persisted).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Aggregate with the secure-aggregation protocol of Bonawitz et al. 2017 (pairwise and self masks, keys
    /// Shamir-shared t-of-n among the round's clients) so the coordinator only learns the sum of the updates.</summary>
    public bool SecureAggregation { get; init; }

    /// <summary>Kept so existing settings compile: secure rounds always add self masks now (the secret-sharing protocol
    /// needs them to protect a client whose masked update arrives after it was counted as dropped), so this value has
    /// no effect.</summary>
    public bool SelfMasks { get; init; }

    /// <summary>
    /// Secure rounds: the Shamir threshold as a fraction f of the n clients whose key advertisements arrived; the
    /// threshold is t = max(⌊n/2⌋ + 1, ⌈f·n⌉) (at most n), always a strict majority. At least t clients must share
    /// their keys, send masked updates and answer the unmask request, so up to n − t can drop out; fewer than t
    /// clients learn nothing about another client's keys. Must be in (0.5, 1]; default 2/3.
    /// </summary>
    public double ShareThreshold { get; init; } = 2.0 / 3;

    /// <summary>
    /// Secure rounds: the long-term ECDSA P-256 public keys (SubjectPublicKeyInfo, DER) of the clients, by the name
    /// each sends when it connects. When set, only clients named here may connect, and a client's key advertisement
    /// in a secure round must be signed with its identity key (<see cref="FederatedClient"/>'s <c>identity</c>); an
    /// unsigned or forged advertisement drops the client from the round. Null = no authentication. Needs
    /// <see cref="SecureAggregation"/>.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]>? ClientIdentities { get; init; }

    /// <summary>Secure rounds: fractional bits of the fixed-point encoding (quantization step 2^-ScaleBits).</summary>
    public int ScaleBits { get; init; } = 20;

    /// <summary>DP-FedAvg clip norm S for each client's update (null = no clipping, no noise).</summary>
    public double? ClipNorm { get; init; }

    /// <summary>DP-FedAvg noise multiplier σ: the noise on the sum has standard deviation σ·S.</summary>
    public double NoiseMultiplier { get; init; }

    /// <summary>
    /// Select each connected client independently with probability <see cref="ClientFraction"/> (Poisson sampling,
    /// as McMahan et al. 2018) instead of a fixed-size draw; the DP sum is then divided by the expected count
    /// <c>ClientFraction · K</c>. Needed for <see cref="Delta"/>: the Rényi-DP accountant's bound is for Poisson sampling.
    /// </summary>
    public bool PoissonSelection { get; init; }

    /// <summary>
    /// User-level δ for reporting ε: with it, each <see cref="RoundLog"/> carries the ε spent so far by the Rényi-DP
    /// accountant of the Poisson-subsampled Gaussian mechanism (<c>NeuralCore.Privacy.Accounting.RdpAccountant</c>,
    /// q = <see cref="ClientFraction"/>, σ = <see cref="NoiseMultiplier"/>). Needs <see cref="PoissonSelection"/>, a clip norm and σ &gt; 0.
    /// </summary>
    public double? Delta { get; init; }

    /// <summary>Largest gRPC message either side accepts, in bytes (updates travel in chunks of 64 Ki values).</summary>
    public int MaxMessageBytes { get; init; } = 4 << 20;

    internal void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"CoordinatorOptions.{name}: {rule}.");
        }
        Check(Port is >= 0 and <= 65535, nameof(Port), Port, "must be 0..65535");
        Check(ClientFraction > 0 && ClientFraction <= 1, nameof(ClientFraction), ClientFraction, "must be in (0, 1]");
        Check(MinClients >= 1, nameof(MinClients), MinClients, "must be at least 1");
        Check(LocalEpochs >= 1, nameof(LocalEpochs), LocalEpochs, "must be at least 1");
        Check(BatchSize >= 0, nameof(BatchSize), BatchSize, "must be 0 (whole shard) or positive");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be positive and finite");
        Check(ProxMu >= 0 && double.IsFinite(ProxMu), nameof(ProxMu), ProxMu, "must be non-negative and finite");
        Check(RoundTimeout > TimeSpan.Zero, nameof(RoundTimeout), RoundTimeout, "must be positive");
        Check(KeyExchangeTimeout > TimeSpan.Zero, nameof(KeyExchangeTimeout), KeyExchangeTimeout, "must be positive");
        Check(RevealTimeout > TimeSpan.Zero, nameof(RevealTimeout), RevealTimeout, "must be positive");
        Check(MaxRoundRetries >= 0, nameof(MaxRoundRetries), MaxRoundRetries, "must be non-negative");
        Check(RetryDelay >= TimeSpan.Zero, nameof(RetryDelay), RetryDelay, "must be non-negative");
        Check(ScaleBits is >= 1 and <= 28, nameof(ScaleBits), ScaleBits, "must be 1..28");
        Check(ClipNorm is null || (ClipNorm > 0 && double.IsFinite(ClipNorm.Value)), nameof(ClipNorm), ClipNorm!, "must be positive and finite");
        Check(NoiseMultiplier >= 0 && double.IsFinite(NoiseMultiplier), nameof(NoiseMultiplier), NoiseMultiplier, "must be non-negative and finite");
        Check(NoiseMultiplier == 0 || ClipNorm is not null, nameof(NoiseMultiplier), NoiseMultiplier, "needs ClipNorm (noise is scaled by the clip norm)");
        Check(Delta is null || (Delta > 0 && Delta < 1), nameof(Delta), Delta!, "must be in (0, 1)");
        Check(Delta is null || (PoissonSelection && ClipNorm is not null && NoiseMultiplier > 0), nameof(Delta), Delta!,
            "needs PoissonSelection, ClipNorm and a positive NoiseMultiplier (the accountant bounds the Poisson-subsampled Gaussian mechanism)");
        Check(ShareThreshold > 0.5 && ShareThreshold <= 1, nameof(ShareThreshold), ShareThreshold,
            "must be in (0.5, 1] (the threshold must be a strict majority of the round's clients)");
        if (ClientIdentities is not null && !SecureAggregation)
            throw new ArgumentException("CoordinatorOptions.ClientIdentities: authentication signs secure rounds' key advertisements; set SecureAggregation.",
                nameof(ClientIdentities));
        ImportIdentities()?.Values.ToList().ForEach(k => k.Dispose());
        Check(MaxMessageBytes >= 1 << 20 && MaxMessageBytes <= 64 << 20, nameof(MaxMessageBytes), MaxMessageBytes, "must be 1 MiB..64 MiB");
    }

    /// <summary>The registered identity keys, imported.</summary>
    /// <exception cref="ArgumentException">A key is not an ECDSA P-256 SubjectPublicKeyInfo.</exception>
    internal Dictionary<string, System.Security.Cryptography.ECDsa>? ImportIdentities()
    {
        if (ClientIdentities is null) return null;
        var result = new Dictionary<string, System.Security.Cryptography.ECDsa>();
        foreach (var (name, spki) in ClientIdentities)
        {
            var key = System.Security.Cryptography.ECDsa.Create();
            try
            {
                key.ImportSubjectPublicKeyInfo(spki ?? [], out _);
                if (!SecureRound.IsP256(key)) throw new System.Security.Cryptography.CryptographicException("not a P-256 key");
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                key.Dispose();
                foreach (var k in result.Values) k.Dispose();
                throw new ArgumentException(
                    $"CoordinatorOptions.ClientIdentities: the key of '{name}' is not an ECDSA P-256 SubjectPublicKeyInfo ({e.Message}).", nameof(ClientIdentities));
            }
            result[name] = key;
        }
        return result;
    }
}
