using NeuralCore.Nn;

namespace NeuralCore.Distributed.Tests;

public sealed class InProcessTests
{
    // Runs body(rank, communicator) on one thread per rank and returns each rank's result.
    static T[] OnRanks<T>(int world, Func<int, InProcessCommunicator, T> body, TimeSpan? timeout = null)
    {
        var comms = InProcessCommunicator.Create(world, timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            var tasks = comms.Select((c, r) => Task.Factory.StartNew(() => body(r, c), TaskCreationOptions.LongRunning)).ToArray();
            return Task.WhenAll(tasks).GetAwaiter().GetResult();
        }
        finally
        {
            foreach (var c in comms) c.Dispose();
        }
    }

    [Fact]
    public void CollectivesOnArraysCombineEveryRank()
    {
        var results = OnRanks(3, (r, c) =>
        {
            var sum = new double[] { r, 10 * r };
            c.AllReduce(sum);
            var mean = new float[] { r };
            c.AllReduce(mean, ReduceOp.Mean);
            var max = new long[] { r * 7 % 5 };
            c.AllReduce(max, ReduceOp.Max);
            var bcast = new int[] { r + 100, r };
            c.Broadcast(bcast, root: 2);
            var gathered = new int[6];
            c.AllGather(new[] { r, -r }, gathered);
            var part = new double[2];
            c.ReduceScatter(new double[] { 1, 2, 3 + r, 4, 5, 6 }, part);
            c.Barrier();
            return (sum, mean, max, bcast, gathered, part);
        });
        for (int r = 0; r < 3; r++)
        {
            var (sum, mean, max, bcast, gathered, part) = results[r];
            Assert.Equal(new double[] { 3, 30 }, sum);
            Assert.Equal(1f, mean[0]);
            Assert.Equal(4L, max[0]); // 0, 7 % 5 = 2, 14 % 5 = 4
            Assert.Equal(new[] { 102, 2 }, bcast);
            Assert.Equal(new[] { 0, 0, 1, -1, 2, -2 }, gathered);
            // Element-wise sum: [3, 6, 12, 12, 15, 18]; rank r gets elements 2r and 2r + 1.
            Assert.Equal(new double[][] { [3, 6], [12, 12], [15, 18] }[r], part);
        }
    }

    [Fact]
    public void TensorCollectivesKeepShapeAndDevice()
    {
        var results = OnRanks(2, (r, c) =>
        {
            var t = Tensor.Full([2, 2], r + 1);
            c.AllReduce(t, ReduceOp.Mean);
            var scalar = Tensor.Scalar(r * 4.0, DType.Float64);
            c.Broadcast(scalar, root: 1);
            var g = c.AllGather(Tensor.Full([1, 3], r));
            var s = c.ReduceScatter(Tensor.Arange(0, 4, 1, DType.Float32).Reshape(4, 1));
            return (t.ToArray<float>(), scalar.Dim, scalar.Item<double>(), g.Shape.ToArray(), g.ToArray<float>(), s.ToArray<float>());
        });
        Assert.Equal([1.5f, 1.5f, 1.5f, 1.5f], results[0].Item1);
        Assert.Equal(0, results[0].Item2);
        Assert.Equal(4.0, results[0].Item3);
        Assert.Equal([2L, 3L], results[1].Item4);
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f], results[1].Item5);
        Assert.Equal([0f, 2f], results[0].Item6);
        Assert.Equal([4f, 6f], results[1].Item6);
    }

    [Fact]
    public void AMissingRankTimesOutInsteadOfHanging()
    {
        var comms = InProcessCommunicator.Create(2, TimeSpan.FromMilliseconds(300));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<CollectiveTimeoutException>(() => comms[0].AllReduce(new float[3]));
        Assert.Contains("rank 0 of 2: AllReduce did not complete within 0.3 s", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
        // The communicator is unusable afterwards, and says why.
        var later = Assert.Throws<CommunicatorException>(() => comms[0].Barrier());
        Assert.Contains("failed earlier", later.Message);
    }

    [Fact]
    public void DifferentCollectivesOnDifferentRanksAreReported()
    {
        var comms = InProcessCommunicator.Create(2, TimeSpan.FromSeconds(10));
        var a = Task.Run(() => comms[0].AllReduce(new float[2]));
        var b = Task.Run(() => comms[1].Broadcast(new float[2]));
        var e = Assert.Throws<CommunicatorException>(() => a.GetAwaiter().GetResult());
        Assert.Contains("every rank must call the same collectives", e.Message);
        Assert.Throws<CommunicatorException>(() => b.GetAwaiter().GetResult());
    }

    [Fact]
    public void BadArgumentsAreRejectedWithTheirReason()
    {
        using var c = InProcessCommunicator.Create(1)[0];
        Assert.Contains("ReduceOp.Mean needs a floating-point", Assert.Throws<ArgumentException>(() => c.AllReduce(new int[1], ReduceOp.Mean)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Broadcast(new float[1], root: 1));
        Assert.Contains("2 are needed", Assert.Throws<ArgumentException>(() => c.AllGather(new float[2], new float[3])).Message);
        Assert.Contains("dtype Bool", Assert.Throws<ArgumentException>(() => c.AllReduce(Tensor.Zeros([2], DType.Bool))).Message);
    }

    [Theory]
    [InlineData(10, 3, false)]
    [InlineData(10, 3, true)]
    [InlineData(12, 4, false)]
    public void SamplerSplitsEveryEpochEvenlyWithASharedShuffle(int count, int world, bool dropLast)
    {
        var samplers = Enumerable.Range(0, world).Select(r => new DistributedSampler(count, world, r, seed: 5, dropLast: dropLast)).ToArray();
        int per = dropLast ? count / world : (count + world - 1) / world;
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var shares = samplers.Select(s => s.Indices(epoch)).ToArray();
            Assert.All(shares, s => Assert.Equal(per, s.Length));
            var all = shares.SelectMany(s => s).ToArray();
            if (dropLast) Assert.Equal(all.Length, all.Distinct().Count());
            else Assert.Equal(count, all.Distinct().Count()); // padding repeats a few, every sample is seen
            // Rank r takes every world-th position of the shared epoch order, from position r.
            var order = samplers[0].EpochOrder(epoch);
            for (int r = 0; r < world; r++)
                for (int k = 0; k < per; k++)
                    Assert.Equal(order[(r + k * world) % count], shares[r][k]);
        }
        Assert.NotEqual(samplers[0].EpochOrder(0), samplers[0].EpochOrder(1));
        Assert.Equal(Enumerable.Range(0, count), new DistributedSampler(count, world, 0, shuffle: false).EpochOrder(3));
    }

    [Fact]
    public void SyncBatchNormOnShardsMatchesBatchNormOnTheWholeBatch()
    {
        Rng.ManualSeed(1);
        var x = Tensor.Randn(8, 3, 2);
        var dy = Tensor.Randn(8, 3, 2);
        var full = new BatchNorm1d(3);
        var xf = x.Clone().RequiresGrad_();
        var yf = full.Forward(xf);
        (yf * dy).Sum().Backward();
        var results = OnRanks(2, (r, c) =>
        {
            var layer = new SyncBatchNorm(3, c);
            var xs = x.Narrow(0, 4 * r, 4).Clone().RequiresGrad_();
            var ys = layer.Forward(xs);
            (ys * dy.Narrow(0, 4 * r, 4)).Sum().Backward();
            return (ys.ToArray<float>(), xs.Grad!.ToArray<float>(), layer.Weight!.Grad!.ToArray<float>(), layer.RunningVar!.ToArray<float>());
        });
        var yExpected = yf.ToArray<float>();
        var dxExpected = xf.Grad!.ToArray<float>();
        for (int r = 0; r < 2; r++)
        {
            var (y, dx, dw, rv) = results[r];
            for (int i = 0; i < y.Length; i++)
            {
                Assert.Equal(yExpected[r * y.Length + i], y[i], 1e-5);
                Assert.Equal(dxExpected[r * dx.Length + i], dx[i], 1e-5);
            }
            Assert.Equal(full.RunningVar!.ToArray<float>(), rv, (a, b) => Math.Abs(a - b) < 1e-5);
        }
        // Weight gradients are per-rank sums; their sum is the whole batch's.
        var dw0 = results[0].Item3;
        var dw1 = results[1].Item3;
        var dwFull = full.Weight!.Grad!.ToArray<float>();
        for (int i = 0; i < 3; i++) Assert.Equal(dwFull[i], dw0[i] + dw1[i], 1e-4);
    }
}
