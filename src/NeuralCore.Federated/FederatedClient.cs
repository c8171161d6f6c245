using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using NeuralCore.Data;
using NeuralCore.Federated.Wire;
using NeuralCore.Nn;

namespace NeuralCore.Federated;

/// <summary>
/// A federated client: connects to a <see cref="FederatedCoordinator"/> over gRPC, and for every round it is selected
/// in receives the global model and the round's settings, trains locally on its shard (<see cref="LocalTraining"/>)
/// and returns its update (new weights − global weights) with its example count — in plain rounds as floats, in
/// secure rounds weighted, fixed-point encoded and masked with its pairwise masks (<see cref="CoordinatorOptions.SecureAggregation"/>).
/// </summary>
public sealed class FederatedClient
{
    readonly Module model;
    readonly Dataset shard;
    readonly string address;
    readonly string name;
    readonly int maxMessageBytes;
    readonly Action<string> log;

    /// <summary>Creates a client.</summary>
    /// <param name="model">The model (same architecture as the coordinator's; its weights are overwritten every round).</param>
    /// <param name="shard">The client's local data.</param>
    /// <param name="port">The coordinator's port on 127.0.0.1.</param>
    /// <param name="name">A name for the coordinator's log.</param>
    /// <param name="log">Receives one line per round; null = silent.</param>
    /// <param name="maxMessageBytes">Largest gRPC message accepted or sent (1 MiB..64 MiB).</param>
    /// <exception cref="ArgumentOutOfRangeException">The port or message limit is out of range.</exception>
    /// <exception cref="ArgumentException">The shard is empty.</exception>
    public FederatedClient(Module model, Dataset shard, int port, string name = "client", Action<string>? log = null, int maxMessageBytes = 4 << 20)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1 << 20);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessageBytes, 64 << 20);
        if (shard.Count == 0) throw new ArgumentException("FederatedClient: the shard is empty.", nameof(shard));
        (this.model, this.shard, this.name, this.maxMessageBytes) = (model, shard, name, maxMessageBytes);
        address = $"http://127.0.0.1:{port}";
        this.log = log ?? (_ => { });
    }

    /// <summary>The id the coordinator assigned (after connecting).</summary>
    public int? Id { get; private set; }

    /// <summary>Rounds this client trained in and answered.</summary>
    public int RoundsTrained { get; private set; }

    /// <summary>Connects and serves rounds until the coordinator says stop, ends the session, or <paramref name="ct"/> fires.</summary>
    /// <param name="ct">Cancels the session.</param>
    /// <returns>The coordinator's reason for stopping (or why the session ended).</returns>
    /// <exception cref="RpcException">The coordinator refused the client (for example a different model size).</exception>
    public async Task<string> RunAsync(CancellationToken ct = default)
    {
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = maxMessageBytes, MaxSendMessageSize = maxMessageBytes,
        });
        var client = new Federation.FederationClient(channel);
        using var call = client.Session(cancellationToken: ct);
        var send = call.RequestStream;
        long parameterCount = ModelVector.Count(model);
        await send.WriteAsync(new ClientMessage { Hello = new Hello { Name = name, ExampleCount = shard.Count, ParameterCount = parameterCount } }, ct)
            .ConfigureAwait(false);
        Round? current = null;
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
            {
                switch (message.KindCase)
                {
                    case ServerMessage.KindOneofCase.Welcome:
                        Id = message.Welcome.ClientId;
                        break;
                    case ServerMessage.KindOneofCase.RoundStart:
                        current?.Dispose();
                        current = new Round(message.RoundStart, parameterCount);
                        if (current.Start.Secure)
                            await send.WriteAsync(new ClientMessage { KeyAdvert = new KeyAdvert
                            {
                                Round = current.Start.Round, PublicKey = ByteString.CopyFrom(current.Key!.ExportSubjectPublicKeyInfo()),
                            } }, ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.Model when current?.Start.Round == message.Model.Round:
                        if (current.Accept(message.Model))
                            await TrainAndAnswerAsync(send, current, ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.Keys when current?.Start.Round == message.Keys.Round:
                        current.Peers = [.. message.Keys.Peers];
                        await TrainAndAnswerAsync(send, current, ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.RevealRequest when current?.Start.Round == message.RevealRequest.Round && current.PairSeeds is not null:
                        var reveal = new SeedReveal { Round = current.Start.Round, SelfSeed = ByteString.CopyFrom(current.SelfSeed) };
                        foreach (int dropped in message.RevealRequest.Dropped)
                            if (current.PairSeeds.TryGetValue(dropped, out var seed))
                                reveal.Seeds.Add(new PairSeed { Peer = dropped, Seed = ByteString.CopyFrom(seed) });
                        await send.WriteAsync(new ClientMessage { Reveal = reveal }, ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.Shutdown:
                        await send.CompleteAsync().ConfigureAwait(false);
                        return message.Shutdown.Reason;
                }
            }
        }
        finally
        {
            current?.Dispose();
        }
        return "the coordinator ended the session";
    }

    // Trains once the model (and, in secure rounds, the peers' keys) are in, then sends the update.
    async Task TrainAndAnswerAsync(IClientStreamWriter<ClientMessage> send, Round round, CancellationToken ct)
    {
        var start = round.Start;
        if (!round.ModelComplete || round.Answered || (start.Secure && round.Peers is null)) return;
        round.Answered = true;
        float[] delta;
        try
        {
            ModelVector.Load(model, round.Global);
            LocalTraining.Train(model, shard, start.LocalEpochs, start.BatchSize, start.LearningRate, start.ProxMu, start.Seed);
            delta = ModelVector.Flatten(model);
            for (int i = 0; i < delta.Length; i++) delta[i] -= round.Global[i];
            if (start.Secure)
            {
                var masked = Mask(round, delta);
                await SendChunksAsync(send, start.Round, masked.Length, (chunk, offset, n) => chunk.Masked.Add(new ArraySegment<uint>(masked, offset, n)), ct)
                    .ConfigureAwait(false);
            }
            else
            {
                await SendChunksAsync(send, start.Round, delta.Length, (chunk, offset, n) => chunk.Values.Add(new ArraySegment<float>(delta, offset, n)), ct)
                    .ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OverflowException or CryptographicException or ArgumentException or InvalidOperationException)
        {
            log($"round {start.Round} failed: {e.Message}");
            await send.WriteAsync(new ClientMessage { Error = new ClientError { Round = start.Round, Message = e.Message } }, ct).ConfigureAwait(false);
            return;
        }
        RoundsTrained++;
        log($"{name}: answered round tag {start.Round} ({shard.Count} examples)");
    }

    uint[] Mask(Round round, float[] delta)
    {
        var start = round.Start;
        if (start.ClipNorm > 0) DpFedAvg.Clip(delta, start.ClipNorm);
        var weighted = new float[delta.Length];
        for (int i = 0; i < delta.Length; i++) weighted[i] = (float)(delta[i] * start.Weight);
        var encoded = Masking.Encode(weighted, start.Weight, start.ScaleBits, round.Peers!.Count);
        round.PairSeeds = [];
        foreach (var peer in round.Peers!)
        {
            if (peer.ClientId == Id) continue;
            var seed = Masking.PairSeed(round.Key!, peer.PublicKey.Span, start.Round, Id!.Value, peer.ClientId);
            round.PairSeeds[peer.ClientId] = seed;
            Masking.Apply(encoded, seed, subtract: Id > peer.ClientId);
        }
        if (start.SelfMask) Masking.Apply(encoded, round.SelfSeed, subtract: false);
        return encoded;
    }

    async Task SendChunksAsync(IClientStreamWriter<ClientMessage> send, int tag, int length, Action<UpdateChunk, int, int> fill, CancellationToken ct)
    {
        for (int offset = 0; ; offset += FederatedCoordinator.ChunkValues)
        {
            int n = Math.Min(FederatedCoordinator.ChunkValues, length - offset);
            var chunk = new UpdateChunk { Round = tag, Offset = offset, Total = length, Last = offset + n >= length, ExampleCount = shard.Count };
            fill(chunk, offset, n);
            await send.WriteAsync(new ClientMessage { Update = chunk }, ct).ConfigureAwait(false);
            if (chunk.Last) return;
        }
    }

    /// <summary>One round's state on the client.</summary>
    sealed class Round(RoundStart start, long parameterCount) : IDisposable
    {
        long received;

        public RoundStart Start { get; } = start;
        public float[] Global { get; } = new float[start.ParameterCount == parameterCount ? parameterCount
            : throw new InvalidOperationException($"The coordinator's model has {start.ParameterCount} parameters; this client's has {parameterCount}.")];
        public ECDiffieHellman? Key { get; } = start.Secure ? Masking.NewKey() : null;
        public byte[] SelfSeed { get; } = start.Secure && start.SelfMask ? RandomNumberGenerator.GetBytes(32) : [];
        public List<PeerKey>? Peers { get; set; }
        public Dictionary<int, byte[]>? PairSeeds { get; set; }
        public bool ModelComplete { get; private set; }
        public bool Answered { get; set; }

        /// <summary>Copies a model chunk in; true when the model is complete.</summary>
        public bool Accept(ModelChunk chunk)
        {
            if (chunk.Offset != received || received + chunk.Values.Count > Global.Length)
                throw new InvalidOperationException($"The coordinator sent a malformed model chunk (offset {chunk.Offset}, {chunk.Values.Count} values).");
            chunk.Values.CopyTo(Global, (int)received);
            received += chunk.Values.Count;
            ModelComplete = chunk.Last && received == Global.Length;
            return ModelComplete;
        }

        public void Dispose() => Key?.Dispose();
    }
}
