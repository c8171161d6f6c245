using NeuralCore.Privacy.Accounting;
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NeuralCore.Federated.Wire;
using NeuralCore.Nn;

namespace NeuralCore.Federated;

/// <summary>
/// The federated-averaging coordinator (McMahan et al. 2017): a gRPC server on 127.0.0.1 that clients
/// (<see cref="FederatedClient"/>) connect to, and the loop that runs rounds: select a fraction C of the connected
/// clients (seeded), send them the global model and the round's settings (E, B, learning rate, FedProx μ), wait until
/// the round deadline for their updates, average the updates weighted by the clients' example counts and apply the
/// average to the global model. Clients that do not answer by the deadline, disconnect or report an error are dropped
/// from the round; a round with fewer than <see cref="CoordinatorOptions.MinClients"/> answers is retried, then skipped,
/// with the reason logged. Optional: secure aggregation by pairwise masks, DP-FedAvg (clipping and Gaussian noise), and
/// persistence of the state after every round so a new coordinator resumes where the last one stopped.
/// </summary>
public sealed partial class FederatedCoordinator : IAsyncDisposable
{
    internal const int ChunkValues = 1 << 16;

    readonly CoordinatorOptions options;
    readonly Func<Module, double>? evaluate;
    readonly Action<string> log;
    readonly ConcurrentDictionary<int, ClientConnection> clients = new();
    readonly CancellationTokenSource stopping = new();
    readonly List<RoundLog> history = [];
    readonly Module model;
    readonly long parameterCount;
    WebApplication? app;
    int nextClientId;
    float[] global;
    Generator rng;
    int nextRound, noisedRounds;
    readonly RdpAccountant? accountant;
    readonly Dictionary<string, System.Security.Cryptography.ECDsa>? identities;

    /// <summary>Creates a coordinator for models built by <paramref name="modelFactory"/>; resumes from
    /// <see cref="CoordinatorOptions.StateDirectory"/> when it holds a saved state.</summary>
    /// <param name="modelFactory">Builds the model (initial weights come from the first call; clients build the same architecture).</param>
    /// <param name="options">Settings.</param>
    /// <param name="evaluate">Called with the global model after each completed round; its value goes to <see cref="RoundLog.Metric"/>.</param>
    /// <param name="log">Receives one line per event (round results, dropped clients); null = silent.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="InvalidDataException">The saved state is malformed or its model has a different size.</exception>
    public FederatedCoordinator(Func<Module> modelFactory, CoordinatorOptions options, Func<Module, double>? evaluate = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(modelFactory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        this.evaluate = evaluate;
        this.log = log ?? (_ => { });
        model = modelFactory();
        global = ModelVector.Flatten(model);
        parameterCount = global.Length;
        rng = new Generator(options.Seed);
        accountant = options.Delta is null ? null : new RdpAccountant();
        identities = options.ImportIdentities();
        if (options.StateDirectory is { } dir && CoordinatorState.TryLoad(dir, out var saved) is { } state)
        {
            if (saved!.Length != global.Length)
                throw new InvalidDataException($"Coordinator state in {dir} holds {saved.Length} weights; the model has {global.Length}.");
            global = saved;
            nextRound = state.NextRound;
            noisedRounds = state.NoisedRounds;
            if (noisedRounds > 0) accountant?.Step(options.NoiseMultiplier, options.ClientFraction, noisedRounds);
            rng = new Generator(state.RngSeed, state.RngOffset);
            this.log($"resumed from {dir} at round {nextRound}");
        }
        ModelVector.Load(model, global);
    }

    /// <summary>The port the server listens on (valid after <see cref="StartAsync"/>).</summary>
    public int Port { get; private set; }

    /// <summary>The next round to run (the number of rounds completed or skipped so far).</summary>
    public int NextRound => nextRound;

    /// <summary>The global model (its weights are the current global vector).</summary>
    public Module Model => model;

    /// <summary>A copy of the current global weights, as <see cref="ModelVector"/> lays them out.</summary>
    public float[] GlobalWeights => (float[])global.Clone();

    /// <summary>Every round attempt this coordinator ran.</summary>
    public IReadOnlyList<RoundLog> History => history;

    /// <summary>Ids of the clients connected now.</summary>
    public IReadOnlyList<int> ConnectedClients => [.. clients.Keys.Order()];

    internal CancellationToken Stopping => stopping.Token;

    /// <summary>Starts the gRPC server on 127.0.0.1:<see cref="CoordinatorOptions.Port"/> (HTTP/2 without TLS).</summary>
    /// <returns>The bound port.</returns>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public async Task<int> StartAsync()
    {
        if (app is not null) throw new InvalidOperationException("FederatedCoordinator.StartAsync: already started.");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port, l => l.Protocols = HttpProtocols.Http2);
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxMessageBytes;
            o.MaxSendMessageSize = options.MaxMessageBytes;
        });
        builder.Services.AddSingleton(this);
        app = builder.Build();
        app.MapGrpcService<FederationService>();
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        log($"coordinator listening on 127.0.0.1:{Port}; {parameterCount} parameters");
        return Port;
    }

    /// <summary>Waits until at least <paramref name="count"/> clients are connected.</summary>
    /// <param name="count">Clients to wait for.</param>
    /// <param name="timeout">Longest wait.</param>
    /// <param name="ct">Cancels the wait.</param>
    /// <exception cref="TimeoutException">Fewer clients connected within <paramref name="timeout"/>.</exception>
    public async Task WaitForClientsAsync(int count, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (clients.Count < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"FederatedCoordinator: {clients.Count} of {count} clients connected within {timeout.TotalSeconds:0.#} s.");
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Runs rounds until <see cref="NextRound"/> reaches <paramref name="rounds"/>.</summary>
    /// <param name="rounds">The total number of rounds (a resumed coordinator runs only the remaining ones).</param>
    /// <param name="ct">Stops between rounds.</param>
    /// <returns>The attempts run by this call.</returns>
    /// <exception cref="InvalidOperationException">The server has not been started.</exception>
    public async Task<IReadOnlyList<RoundLog>> RunAsync(int rounds, CancellationToken ct = default)
    {
        if (app is null) throw new InvalidOperationException("FederatedCoordinator.RunAsync: call StartAsync first.");
        int first = history.Count;
        while (nextRound < rounds)
        {
            ct.ThrowIfCancellationRequested();
            for (int attempt = 0; ; attempt++)
            {
                var entry = await RunRoundAsync(nextRound, attempt, attempt < options.MaxRoundRetries, ct).ConfigureAwait(false);
                Record(entry);
                if (entry.Status != RoundStatus.Retried) break;
                await Task.Delay(options.RetryDelay, ct).ConfigureAwait(false);
            }
            nextRound++;
            Persist();
        }
        return history.Skip(first).ToList();
    }

    /// <summary>Tells every connected client to stop (each ends its session).</summary>
    /// <param name="reason">Sent to the clients.</param>
    public async Task ShutdownClientsAsync(string reason = "training finished")
    {
        foreach (var client in clients.Values)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.SendAsync(new ServerMessage { Shutdown = new Shutdown { Reason = reason } }, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or RpcException or InvalidOperationException)
            {
                log($"client {client.Id} could not be told to stop: {e.Message}");
            }
        }
    }

    /// <summary>Stops the server and ends every session.</summary>
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        if (app is not null)
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            app = null;
        }
        foreach (var key in identities?.Values ?? Enumerable.Empty<System.Security.Cryptography.ECDsa>()) key.Dispose();
    }

    internal string? CheckHello(Hello hello)
    {
        if (hello.ParameterCount != parameterCount)
            return $"The client's model has {hello.ParameterCount} parameters; the coordinator's has {parameterCount}.";
        if (hello.ExampleCount < 1)
            return $"The client reports {hello.ExampleCount} examples; it needs at least 1.";
        if (identities is not null && !identities.ContainsKey(hello.Name))
            return $"No identity key is registered for a client named '{hello.Name}'; this coordinator only accepts registered clients.";
        return null;
    }

    internal ClientConnection Register(Hello hello, IServerStreamWriter<ServerMessage> writer)
    {
        var connection = new ClientConnection(Interlocked.Increment(ref nextClientId), hello.Name, hello.ExampleCount, writer,
            identities?.GetValueOrDefault(hello.Name));
        clients[connection.Id] = connection;
        log($"client {connection.Id} ({hello.Name}, {hello.ExampleCount} examples) connected");
        return connection;
    }

    internal void Unregister(ClientConnection connection)
    {
        if (clients.TryRemove(connection.Id, out _)) log($"client {connection.Id} ({connection.Name}) disconnected");
    }

    void Record(RoundLog entry)
    {
        history.Add(entry);
        string metric = entry.Metric is double m ? $", metric {m:0.0000}" : "";
        log(entry.Status == RoundStatus.Completed
            ? $"round {entry.Round}: {entry.Answered.Count}/{entry.Selected.Count} clients, {entry.Examples} examples, " +
              $"update norm {entry.UpdateNorm:0.0000}, {entry.Seconds:0.00} s{metric}" +
              (entry.Dropped.Count > 0 ? $"; dropped {string.Join(", ", entry.Dropped)}" : "")
            : $"round {entry.Round} attempt {entry.Attempt} {entry.Status.ToString().ToLowerInvariant()}: {entry.Reason}");
        if (options.StateDirectory is { } dir)
        {
            Directory.CreateDirectory(dir);
            File.AppendAllText(Path.Combine(dir, "rounds.jsonl"), JsonSerializer.Serialize(entry) + "\n");
        }
    }

    void Persist()
    {
        if (options.StateDirectory is not { } dir) return;
        new CoordinatorState(nextRound, rng.Seed, rng.Offset, noisedRounds, CoordinatorState.WeightsFileFor(nextRound)).Save(dir, global);
    }
}
