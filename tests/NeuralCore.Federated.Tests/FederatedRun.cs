using Grpc.Core;
using Grpc.Net.Client;
using NeuralCore.Data;
using NeuralCore.Federated;
using NeuralCore.Federated.Wire;
using NeuralCore.Nn;

namespace NeuralCore.Federated.Tests;

/// <summary>A coordinator on a free loopback port with in-process clients, all talking real gRPC over HTTP/2.</summary>
internal sealed class FederatedRun : IAsyncDisposable
{
    public const int Features = 6, Classes = 3;
    readonly CancellationTokenSource stop = new(TimeSpan.FromMinutes(3));
    readonly List<Task> clientTasks = [];

    public FederatedCoordinator Coordinator { get; }
    public List<FederatedClient> Clients { get; } = [];

    readonly Func<Module> factory;

    FederatedRun(FederatedCoordinator coordinator, Func<Module> factory) => (Coordinator, this.factory) = (coordinator, factory);

    public static Module NewModel() => new Sequential(new Linear(Features, 5), new ReLU(), new Linear(5, Classes));

    /// <summary>Random inputs with labels from a fixed linear rule, so training makes progress.</summary>
    public static TensorDataset Data(int count, long seed)
    {
        var g = new Generator(seed);
        var x = new float[count * Features];
        g.FillNormal(x);
        var y = new long[count];
        for (int i = 0; i < count; i++)
            y[i] = (x[i * Features] + x[i * Features + 1] > 0 ? 1 : 0) + (x[i * Features + 2] > 0.5 ? 1 : 0);
        return new TensorDataset(Tensor.FromArray(x, count, Features), Tensor.FromArray(y, count));
    }

    public static async Task<FederatedRun> StartAsync(CoordinatorOptions options, long modelSeed = 11, Func<Module>? factory = null,
        Action<string>? log = null)
    {
        Rng.ManualSeed(modelSeed);
        factory ??= NewModel;
        var coordinator = new FederatedCoordinator(factory, options with { Port = 0 }, log: log);
        await coordinator.StartAsync();
        return new FederatedRun(coordinator, factory);
    }

    /// <summary>Starts a well-behaved client and waits until the coordinator has registered it (so ids follow call order).</summary>
    public async Task AddClientAsync(Dataset shard, System.Security.Cryptography.ECDsa? identity = null,
        SecureDropPoint dropAt = SecureDropPoint.None)
    {
        int before = Coordinator.ConnectedClients.Count;
        var client = new FederatedClient(factory(), shard, Coordinator.Port, $"client{Clients.Count}", identity: identity) { DropAt = dropAt };
        Clients.Add(client);
        clientTasks.Add(Task.Run(() => client.RunAsync(stop.Token)));
        await Coordinator.WaitForClientsAsync(before + 1, TimeSpan.FromSeconds(30));
    }

    /// <summary>A raw session that says Hello and then runs <paramref name="behaviour"/> on the open call.</summary>
    public async Task AddRawClientAsync(long examples, Func<AsyncDuplexStreamingCall<ClientMessage, ServerMessage>, CancellationToken, Task> behaviour)
    {
        int before = Coordinator.ConnectedClients.Count;
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Coordinator.Port}");
        var call = new Federation.FederationClient(channel).Session(cancellationToken: stop.Token);
        await call.RequestStream.WriteAsync(new ClientMessage
        {
            Hello = new Hello { Name = "raw", ExampleCount = examples, ParameterCount = ModelVector.Count(factory()) },
        });
        clientTasks.Add(Task.Run(async () =>
        {
            try
            {
                await behaviour(call, stop.Token);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or IOException)
            {
            }
            finally
            {
                call.Dispose();
                channel.Dispose();
            }
        }));
        await Coordinator.WaitForClientsAsync(before + 1, TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await Coordinator.ShutdownClientsAsync();
        await stop.CancelAsync();
        await Coordinator.DisposeAsync();
        try
        {
            await Task.WhenAll(clientTasks).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException)
        {
        }
    }
}

/// <summary>Test classes that seed the process-wide <c>Rng</c> and build models from it run one at a time, so one
/// class's models never draw from another's seed.</summary>
[CollectionDefinition(Name)]
public sealed class GlobalRngCollection
{
    public const string Name = "global Rng";
}
