using System.Globalization;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Distributed;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

// Scenarios, each run by every rank (world size from mpirun, or 1 without it):
//   ddp STEPS       a fixed global batch of 12 split over the ranks; SyncBatchNorm, Adam with two parameter groups
//                   (L2 on one, L1 on the other) and gradient accumulation over two micro-batches (NoSync on the first)
//   fit EPOCHS      Sequential.Fit on 48 samples with the DistributedSampler, 12 samples per step over all ranks
//   hang            rank 1 skips a collective: rank 0 must time out and end the job
// Rank 0 prints "PARAMS v1,v2,..." (every parameter, flattened) and, for fit, "LOSS l1,l2,...".
var scenario = args.Length > 0 ? args[0] : "ddp";
int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
using var comm = DistributedEnvironment.CreateCommunicator(scenario == "hang" ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(60));
int rank = comm.Rank, world = comm.WorldSize;
const int GlobalBatch = 12;
if (GlobalBatch % world != 0) throw new ArgumentException($"The world size {world} must divide {GlobalBatch}.");
int local = GlobalBatch / world;

switch (scenario)
{
    case "ddp":
    {
        Rng.ManualSeed(7);
        var model = new Sequential(new Linear(6, 10), new SyncBatchNorm(10, comm), new ReLU(), new Linear(10, 3));
        var ps = model.Parameters().ToArray();
        var optimizer = new Adam([new ParamGroup(ps.Take(2)) { L2 = 1e-3 }, new ParamGroup(ps.Skip(2)) { L1 = 1e-4, Lr = 0.02 }], lr: 0.01);
        using var ddp = new DistributedDataParallel(model, comm, bucketCapMB: 0.0002); // several buckets for this small model
        var data = new Generator(11);
        for (int step = 0; step < count; step++)
        {
            var x = Tensor.Randn([GlobalBatch, 6], DType.Float32, data);
            var y = Tensor.RandInt(0, 3, [GlobalBatch], data);
            optimizer.ZeroGrad();
            // Two micro-batches per step: the first accumulates locally, the second averages the sum.
            int half = local / 2;
            for (int micro = 0; micro < 2; micro++)
            {
                var xs = x.Narrow(0, micro * (GlobalBatch / 2) + rank * half, half);
                var ys = y.Narrow(0, micro * (GlobalBatch / 2) + rank * half, half);
                var loss = F.CrossEntropy(ddp.Forward(xs), ys) * 0.5;
                if (micro == 0)
                    using (ddp.NoSync()) loss.Backward();
                else loss.Backward();
            }
            optimizer.Step();
        }
        Report(model);
        break;
    }
    case "fit":
    {
        Rng.ManualSeed(3);
        var model = new Sequential(new Linear(5, 8), new ReLU(), new Linear(8, 3));
        model.Compile(new Sgd(lr: 0.1, momentum: 0.9), "sparse_categorical_crossentropy", ["accuracy"]);
        var gen = new Generator(5);
        var x = Tensor.Randn([48, 5], DType.Float32, gen);
        var y = Tensor.RandInt(0, 3, [48], gen);
        using var ddp = new DistributedDataParallel(model, comm, samplerSeed: 9);
        model.UseDataParallel(ddp);
        var history = model.Fit(x, y, epochs: count, batchSize: local, verbose: 0);
        Report(model);
        if (rank == 0)
            Console.WriteLine("LOSS " + string.Join(",", history["loss"].Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        break;
    }
    case "hang":
    {
        var buffer = new float[4];
        if (rank != 1) comm.AllReduce(buffer);
        else Thread.Sleep(TimeSpan.FromSeconds(60));
        Console.WriteLine($"rank {rank} passed the collective");
        break;
    }
    default:
        throw new ArgumentException($"Unknown scenario \"{scenario}\"; use ddp, fit or hang.");
}

void Report(Module model)
{
    var values = model.Parameters().SelectMany(p => p.ToArray<float>());
    if (rank == 0) Console.WriteLine("PARAMS " + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
    // Every rank must hold the same parameters: rank 0's are broadcast and compared.
    var mine = model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
    var root = (float[])mine.Clone();
    comm.Broadcast(root, 0);
    if (!mine.SequenceEqual(root)) throw new InvalidOperationException($"Rank {rank}'s parameters differ from rank 0's.");
}
