using Grpc.Core;
using NeuralCore.Federated.Wire;

namespace NeuralCore.Federated;

/// <summary>The gRPC endpoint: registers each session with the coordinator and forwards the client's messages to
/// its inbox until the session ends.</summary>
internal sealed class FederationService(FederatedCoordinator coordinator) : Federation.FederationBase
{
    public override async Task Session(IAsyncStreamReader<ClientMessage> requestStream, IServerStreamWriter<ServerMessage> responseStream,
        ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct).ConfigureAwait(false) || requestStream.Current.KindCase != ClientMessage.KindOneofCase.Hello)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of a session must be Hello."));
        var hello = requestStream.Current.Hello;
        string? refusal = coordinator.CheckHello(hello);
        if (refusal is not null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, refusal));
        var connection = coordinator.Register(hello, responseStream);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, coordinator.Stopping);
        try
        {
            await connection.SendAsync(new ServerMessage { Welcome = new Welcome { ClientId = connection.Id } }, linked.Token).ConfigureAwait(false);
            while (await requestStream.MoveNext(linked.Token).ConfigureAwait(false))
                await connection.Inbox.Writer.WriteAsync(requestStream.Current, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or RpcException or InvalidOperationException)
        {
            // The client went away or the coordinator is stopping: the session simply ends.
        }
        finally
        {
            coordinator.Unregister(connection);
            connection.Inbox.Writer.TryComplete();
            await connection.Closed.CancelAsync().ConfigureAwait(false);
        }
    }
}
