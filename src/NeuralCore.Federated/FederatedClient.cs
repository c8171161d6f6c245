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
    readonly ECDsa? identity;

    /// <summary>Creates a client.</summary>
    /// <param name="model">The model (same architecture as the coordinator's; its weights are overwritten every round).</param>
    /// <param name="shard">The client's local data.</param>
    /// <param name="port">The coordinator's port on 127.0.0.1.</param>
    /// <param name="name">A name for the coordinator's log.</param>
    /// <param name="log">Receives one line per round; null = silent.</param>
    /// <param name="maxMessageBytes">Largest gRPC message accepted or sent (1 MiB..64 MiB).</param>
    /// <param name="identity">The client's long-term ECDSA P-256 private key, for a coordinator that authenticates
    /// clients (<see cref="CoordinatorOptions.ClientIdentities"/>): secure rounds' key advertisements are signed with it.
    /// The client does not dispose it.</param>
    /// <exception cref="ArgumentOutOfRangeException">The port or message limit is out of range.</exception>
    /// <exception cref="ArgumentException">The shard is empty, or the identity key is not a P-256 private key.</exception>
    public FederatedClient(Module model, Dataset shard, int port, string name = "client", Action<string>? log = null, int maxMessageBytes = 4 << 20,
        ECDsa? identity = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1 << 20);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessageBytes, 64 << 20);
        if (shard.Count == 0) throw new ArgumentException("FederatedClient: the shard is empty.", nameof(shard));
        if (identity is not null && !SecureRound.IsP256(identity))
            throw new ArgumentException("FederatedClient: the identity key must be an ECDSA P-256 key.", nameof(identity));
        this.identity = identity;
        (this.model, this.shard, this.name, this.maxMessageBytes) = (model, shard, name, maxMessageBytes);
        address = $"http://127.0.0.1:{port}";
        this.log = log ?? (_ => { });
    }

    /// <summary>The id the coordinator assigned (after connecting).</summary>
    public int? Id { get; private set; }

    /// <summary>Fault injection for tests: where in a secure round this client ends its session.</summary>
    internal SecureDropPoint DropAt { get; init; }

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
                        current = new Round(message.RoundStart, parameterCount, Id ?? 0);
                        if (current.Secure is { } secure)
                            await ReportFailureAsync(send, secure.Round, () => send.WriteAsync(new ClientMessage { KeyAdvert = secure.Advertise(identity) }, ct), ct)
                                .ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.Model when current?.Start.Round == message.Model.Round:
                        if (current.Accept(message.Model))
                            await TrainAndAnswerAsync(send, current, ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.Keys when current?.Secure?.Round == message.Keys.Round:
                        await ReportFailureAsync(send, current.Start.Round,
                            () => send.WriteAsync(new ClientMessage { Shares = current.Secure.ShareKeys(message.Keys) }, ct), ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.Shares when current?.Secure?.Round == message.Shares.Round:
                        if (DropAt == SecureDropPoint.AfterSharing) return "left the round after sharing its keys (fault injection)";
                        if (await ReportFailureAsync(send, current.Start.Round, () =>
                            {
                                current.Secure.AcceptShares(message.Shares);
                                return Task.CompletedTask;
                            }, ct).ConfigureAwait(false))
                            await TrainAndAnswerAsync(send, current, ct).ConfigureAwait(false);
                        break;
                    case ServerMessage.KindOneofCase.UnmaskRequest when current?.Secure?.Round == message.UnmaskRequest.Round:
                        if (DropAt == SecureDropPoint.AfterMaskedInput) return "left the round after sending its masked update (fault injection)";
                        await ReportFailureAsync(send, current.Start.Round,
                            () => send.WriteAsync(new ClientMessage { Unmask = current.Secure.Unmask(message.UnmaskRequest) }, ct), ct).ConfigureAwait(false);
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

    // Runs one protocol step; a refused or malformed step is reported to the coordinator as this round's error.
    async Task<bool> ReportFailureAsync(IClientStreamWriter<ClientMessage> send, int tag, Func<Task> step, CancellationToken ct)
    {
        try
        {
            await step().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or CryptographicException or ArgumentException)
        {
            log($"{name}: round tag {tag}: {e.Message}");
            await send.WriteAsync(new ClientMessage { Error = new ClientError { Round = tag, Message = e.Message } }, ct).ConfigureAwait(false);
            return false;
        }
    }

    // Trains once the model (and, in secure rounds, the peers' shares) are in, then sends the update.
    async Task TrainAndAnswerAsync(IClientStreamWriter<ClientMessage> send, Round round, CancellationToken ct)
    {
        var start = round.Start;
        if (!round.ModelComplete || round.Answered || (round.Secure is { } secure && secure.Sharers is null)) return;
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
        var encoded = Masking.Encode(weighted, start.Weight, start.ScaleBits, round.Secure!.Sharers!.Count);
        round.Secure.Mask(encoded);
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
    sealed class Round(RoundStart start, long parameterCount, int self) : IDisposable
    {
        long received;

        public RoundStart Start { get; } = start;
        public float[] Global { get; } = new float[start.ParameterCount == parameterCount ? parameterCount
            : throw new InvalidOperationException($"The coordinator's model has {start.ParameterCount} parameters; this client's has {parameterCount}.")];
        public SecureRound? Secure { get; } = start.Secure ? new SecureRound(start.Round, self) : null;
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

        public void Dispose() => Secure?.Dispose();
    }
}

/// <summary>Where a client leaves a secure round (fault injection for tests).</summary>
internal enum SecureDropPoint
{
    /// <summary>Follows the protocol.</summary>
    None,
    /// <summary>Ends its session when the shares arrive: its keys are shared, its masked update never comes.</summary>
    AfterSharing,
    /// <summary>Ends its session when the unmask request arrives: its masked update is in the sum.</summary>
    AfterMaskedInput,
}
