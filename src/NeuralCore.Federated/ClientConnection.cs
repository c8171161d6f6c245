using System.Threading.Channels;
using Grpc.Core;
using NeuralCore.Federated.Wire;

namespace NeuralCore.Federated;

/// <summary>The coordinator's side of one client's session: its identity, an inbox of the messages it sent, and a
/// serialized writer to its response stream.</summary>
internal sealed class ClientConnection(int id, string name, long exampleCount, IServerStreamWriter<ServerMessage> writer,
    System.Security.Cryptography.ECDsa? identity = null)
{
    readonly SemaphoreSlim sendLock = new(1, 1);

    public int Id { get; } = id;
    public string Name { get; } = name;
    public long ExampleCount { get; } = exampleCount;

    /// <summary>The long-term ECDSA P-256 public key registered for the client's name, or null without authentication.</summary>
    public System.Security.Cryptography.ECDsa? Identity { get; } = identity;

    /// <summary>Messages from the client; bounded so a client that floods the coordinator is slowed by backpressure.</summary>
    public Channel<ClientMessage> Inbox { get; } = Channel.CreateBounded<ClientMessage>(new BoundedChannelOptions(256)
    {
        SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>Cancelled when the session ends (the client disconnected or the coordinator stopped).</summary>
    public CancellationTokenSource Closed { get; } = new();

    public async Task SendAsync(ServerMessage message, CancellationToken ct)
    {
        await sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await writer.WriteAsync(message, ct).ConfigureAwait(false);
        }
        finally
        {
            sendLock.Release();
        }
    }

    /// <summary>Reads the next message of <paramref name="round"/> that <paramref name="accept"/> takes, skipping
    /// messages of earlier rounds; a client error for this round ends the wait with its message.</summary>
    /// <exception cref="ClientFailedException">The client reported an error or sent an unexpected message.</exception>
    public async Task<T> ReadAsync<T>(int round, Func<ClientMessage, (int Round, T? Value)> accept, CancellationToken ct) where T : class
    {
        while (true)
        {
            var message = await Inbox.Reader.ReadAsync(ct).ConfigureAwait(false);
            if (message.KindCase == ClientMessage.KindOneofCase.Error)
            {
                if (message.Error.Round == round)
                    throw new ClientFailedException($"client {Id} reported: {message.Error.Message}");
                continue;
            }
            var (r, value) = accept(message);
            if (r < round) continue;
            if (r > round || value is null)
                throw new ClientFailedException($"client {Id} sent an unexpected {message.KindCase} for round {r} in round {round}");
            return value;
        }
    }
}

/// <summary>A client broke the protocol or reported an error during a round; it is dropped from that round.</summary>
internal sealed class ClientFailedException(string message) : Exception(message);
