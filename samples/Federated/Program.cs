// Federated averaging on Fashion-MNIST: one command starts a coordinator and N client processes on 127.0.0.1 and
// prints the global model's test accuracy after every round.
//   dotnet samples/Federated/bin/Release/net10.0/Federated.dll --clients 10 --rounds 10 --partition iid --centralized
// Options: --clients N, --rounds R, --fraction C, --epochs E (local), --batch-size B, --lr LR, --seed S,
//          --partition iid|shards|dirichlet, --alpha A (Dirichlet), --prox-mu MU (FedProx), --secure (secure aggregation),
//          --threshold F (its Shamir threshold fraction), --authenticate (signed key advertisements),
//          --clip S --noise SIGMA (DP-FedAvg), --timeout SECONDS, --state DIR (resumable), --centralized (baseline for
//          rounds × E epochs), --subset (bundled 6,000/1,000-image subset), --data DIR.
// A client process is the same program with --client --port P --index K (the coordinator starts them itself).
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Federated;
using NeuralCore.Nn;
using NeuralCore.Samples;

var c = CultureInfo.InvariantCulture;
string Option(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
int clients = int.Parse(Option("--clients", "10"), c);
int rounds = int.Parse(Option("--rounds", "10"), c);
int epochs = int.Parse(Option("--epochs", "1"), c);
int batchSize = int.Parse(Option("--batch-size", "32"), c);
double lr = double.Parse(Option("--lr", "0.1"), c);
long seed = long.Parse(Option("--seed", "1"), c);
string partition = Option("--partition", "iid");
bool isClient = args.Contains("--client");
const string IdentityVariable = "NEURALCORE_FEDERATED_IDENTITY";

// 1. Data, and this run's split of the training set among the clients (every process computes the same split).
var (train, test, source) = FashionMnistSample.LoadData(Option("--data", "data"), args.Contains("--subset"), download: false,
    line => { if (!isClient) Console.WriteLine(line); });
var labels = Partitioning.Labels(train.Labels);
int[][] shards = partition switch
{
    "iid" => Partitioning.Iid(train.Count, clients, seed),
    "shards" => Partitioning.ByLabelShards(labels, clients, shardsPerClient: 2, seed),
    "dirichlet" => Partitioning.Dirichlet(labels, clients, double.Parse(Option("--alpha", "0.5"), c), seed, minPerClient: 10),
    _ => throw new ArgumentException($"--partition must be iid, shards or dirichlet, not '{partition}'."),
};

// 2. The model: the Fashion-MNIST samples' MLP, built by one forward pass so every process knows its shapes.
Module NewModel()
{
    var model = FashionMnistSample.Mlp();
    using (Tensor.NoGrad()) model.Forward(Tensor.Zeros(1, 1, 28, 28));
    return model;
}

if (isClient)
{
    // 3a. A client: train on its shard whenever the coordinator selects it, until told to stop.
    int index = int.Parse(Option("--index", "0"), c);
    // With --authenticate the coordinator hands each client its identity key (PKCS#8) in the environment.
    string? pkcs8 = Environment.GetEnvironmentVariable(IdentityVariable);
    using var identity = pkcs8 is null ? null : ECDsa.Create();
    identity?.ImportPkcs8PrivateKey(Convert.FromBase64String(pkcs8!), out _);
    var client = new FederatedClient(NewModel(), new Subset(train, shards[index]), int.Parse(Option("--port", "0"), c), $"client{index}",
        identity: identity);
    await client.RunAsync();
    return;
}

double Accuracy(Module model)
{
    model.Eval();
    long correct = 0;
    using var noGrad = Tensor.NoGrad();
    foreach (var (x, y) in new DataLoader(test, batchSize: 1000))
    {
        using var scope = Tensor.Scope();
        correct += model.Forward(x).ArgMax(1).Eq(y).Sum().To(DType.Int64).Item<long>();
    }
    model.Train();
    return (double)correct / test.Count;
}

Console.WriteLine($"{source}; {train.Count:N0} training and {test.Count:N0} test images; {clients} clients, partition {partition}: " +
    $"{shards.Min(s => s.Length)}..{shards.Max(s => s.Length)} images and " +
    $"{shards.Average(s => s.Select(i => labels[i]).Distinct().Count()):0.0} labels per client on average.");

// 3b. The coordinator, on a free loopback port; with --authenticate it makes each client's long-term identity key.
var identities = Enumerable.Range(0, clients).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToArray();
var options = new CoordinatorOptions
{
    Seed = seed, ClientFraction = double.Parse(Option("--fraction", "1"), c), MinClients = 1, LocalEpochs = epochs, BatchSize = batchSize,
    LearningRate = lr, ProxMu = double.Parse(Option("--prox-mu", "0"), c), SecureAggregation = args.Contains("--secure"),
    ShareThreshold = double.Parse(Option("--threshold", (2.0 / 3).ToString("R", c)), c),
    ClientIdentities = args.Contains("--authenticate")
        ? Enumerable.Range(0, clients).ToDictionary(k => $"client{k}", k => identities[k].ExportSubjectPublicKeyInfo())
        : null,
    StateDirectory = args.Contains("--state") ? Option("--state", "") : null,
    RoundTimeout = TimeSpan.FromSeconds(double.Parse(Option("--timeout", "600"), c)),
    ClipNorm = args.Contains("--clip") ? double.Parse(Option("--clip", "1"), c) : null,
    NoiseMultiplier = double.Parse(Option("--noise", "0"), c),
};
Rng.ManualSeed(seed);
await using var coordinator = new FederatedCoordinator(NewModel, options, Accuracy, line => Console.WriteLine("  " + line));
int port = await coordinator.StartAsync();

// 4. The clients: this same program with --client, one process each.
var children = new List<Process>();
string self = Environment.ProcessPath!;
var passOn = new List<string> { "--client", "--port", port.ToString(c), "--clients", clients.ToString(c), "--partition", partition,
    "--seed", seed.ToString(c), "--alpha", Option("--alpha", "0.5"), "--data", Option("--data", "data") };
if (args.Contains("--subset")) passOn.Add("--subset");
for (int k = 0; k < clients; k++)
{
    var start = new ProcessStartInfo(self) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()!.Location);
    foreach (var a in passOn.Append("--index").Append(k.ToString(c))) start.ArgumentList.Add(a);
    if (args.Contains("--authenticate")) start.Environment[IdentityVariable] = Convert.ToBase64String(identities[k].ExportPkcs8PrivateKey());
    children.Add(Process.Start(start)!);
}
try
{
    await coordinator.WaitForClientsAsync(clients, TimeSpan.FromMinutes(5));
    var clock = Stopwatch.StartNew();
    var log = await coordinator.RunAsync(rounds);
    Console.WriteLine($"federated: {log.Count(r => r.Status == RoundStatus.Completed)} rounds in {clock.Elapsed.TotalSeconds:0} s; accuracy per round: " +
        string.Join(" ", log.Where(r => r.Metric is not null).Select(r => r.Metric!.Value.ToString("0.0000", c))));
    await coordinator.ShutdownClientsAsync();
    foreach (var child in children)
        if (!child.WaitForExit(TimeSpan.FromSeconds(30))) child.Kill();
}
finally
{
    foreach (var child in children.Where(p => !p.HasExited)) child.Kill();
}

// 5. Baseline: the same model, initial weights and SGD settings trained centrally for rounds × E epochs.
if (args.Contains("--centralized"))
{
    Rng.ManualSeed(seed);
    var central = NewModel();
    var clock = Stopwatch.StartNew();
    var accuracies = new List<double>();
    for (int e = 0; e < rounds * epochs; e++)
    {
        LocalTraining.Train(central, train, 1, batchSize, lr, 0, seed + e);
        accuracies.Add(Accuracy(central));
        Console.WriteLine(string.Create(c, $"  centralized epoch {e}: accuracy {accuracies[^1]:0.0000}"));
    }
    Console.WriteLine($"centralized: {rounds * epochs} epochs in {clock.Elapsed.TotalSeconds:0} s; accuracy per epoch: " +
        string.Join(" ", accuracies.Select(a => a.ToString("0.0000", c))));
}
