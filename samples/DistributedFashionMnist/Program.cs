// Data-parallel Fashion-MNIST: every process trains the same MLP on its share of each epoch; gradients are averaged
// over the processes during backward. Run alone (one process, no MPI needed) or under Open MPI:
//   mpirun -np 2 dotnet samples/DistributedFashionMnist/bin/Release/net10.0/DistributedFashionMnist.dll --epochs 2
// Options: --epochs N, --batch-size N (per process), --subset (bundled subset), --data DIR,
//          --measure (allreduce latency/bandwidth by size and DDP step times, for docs/distributed.md).
using System.Diagnostics;
using System.Globalization;
using NeuralCore;
using NeuralCore.Distributed;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Samples;
using NeuralCore.Training;
using F = NeuralCore.Nn.Functional;

var c = CultureInfo.InvariantCulture;
string Option(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
using var comm = DistributedEnvironment.CreateCommunicator();
bool leader = comm.Rank == 0;
void Say(string line)
{
    if (leader) Console.WriteLine(line);
}

if (args.Contains("--measure"))
{
    Measure(comm, Say);
    return;
}

int epochs = int.Parse(Option("--epochs", "2"), c);
int batchSize = int.Parse(Option("--batch-size", "64"), c);
var (train, test, source) = FashionMnistSample.LoadData(Option("--data", "data"), args.Contains("--subset"), download: false, Say);
Say($"{comm.WorldSize} process(es); {source}; {train.Count} training images; batch {batchSize} per process, {batchSize * comm.WorldSize} in all.");
Rng.ManualSeed(1);
var model = FashionMnistSample.Mlp();
model.Compile(new Adam(lr: 1e-3), "categorical_crossentropy", ["accuracy"]);
using var ddp = new DistributedDataParallel(model, comm, samplerSeed: 1);
model.UseDataParallel(ddp);
var clock = Stopwatch.StartNew();
var history = model.Fit(train, epochs: epochs, batchSize: batchSize, verbose: 2,
    callbacks: [new ModelCheckpoint("distributed-fashion-mnist.safetensors")]);
Say($"trained in {clock.Elapsed.TotalSeconds:0.0} s; final loss {history["loss"][^1]:0.0000} (mean over processes)");
if (leader)
{
    var result = model.Evaluate(test, batchSize: 256);
    Console.WriteLine($"test loss {result.Loss:0.0000}, accuracy {result.Metrics["accuracy"]:0.0000}");
}

static void Measure(ICommunicator comm, Action<string> say)
{
    var c = CultureInfo.InvariantCulture;
    int k = comm.WorldSize;
    say($"allreduce (sum, float32) over {k} process(es): size, time per call, algorithm bandwidth, bus bandwidth (2(k-1)/k × bytes / time)");
    foreach (int bytes in new[] { 4, 64, 1024, 16 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20 })
    {
        var buffer = new float[bytes / 4];
        int reps = Math.Clamp((int)(256L * 1024 * 1024 / Math.Max(bytes, 4096) / 4), 5, 2000);
        for (int i = 0; i < 3; i++) comm.AllReduceAsync(buffer).GetAwaiter().GetResult();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) comm.AllReduceAsync(buffer).GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds / reps;
        // Rank 0's figure is reported; all ranks run the same loop.
        say(string.Create(c, $"  {bytes,10:N0} B  {seconds * 1e6,10:0.0} us  {bytes / seconds / 1e6,9:0.0} MB/s  {bytes / seconds / 1e6 * 2 * (k - 1) / Math.Max(k, 1),9:0.0} MB/s"));
    }

    // Step time: a 784-1024-1024-10 MLP (1.86 M parameters, 7.5 MB of gradients), 128 random samples per process.
    foreach (var (label, cap) in new[] { ("buckets of 1 MB (overlapped with backward)", 1.0), ("one bucket after backward (no overlap)", 1e6) })
    {
        Rng.ManualSeed(2);
        var model = new Sequential(new Linear(784, 1024), new ReLU(), new Linear(1024, 1024), new ReLU(), new Linear(1024, 10));
        var optimizer = new Sgd(model.Parameters(), lr: 0.01);
        using var ddp = new DistributedDataParallel(model, comm, bucketCapMB: cap);
        var data = new Generator(3 + comm.Rank);
        var x = Tensor.Randn([128, 784], DType.Float32, data);
        var y = Tensor.RandInt(0, 10, [128], data);
        double wait = 0;
        var times = new List<double>();
        for (int step = 0; step < 25; step++)
        {
            using var scope = Tensor.Scope();
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            F.CrossEntropy(ddp.Forward(x), y).Backward();
            optimizer.Step();
            if (step >= 5)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
                wait += ddp.LastSyncWait.TotalMilliseconds;
            }
        }
        times.Sort();
        say(string.Create(c, $"step, {k} process(es), {label}: median {times[times.Count / 2]:0.0} ms, mean wait after backward {wait / times.Count:0.0} ms, {ddp.BucketCount} bucket(s)"));
    }
}
