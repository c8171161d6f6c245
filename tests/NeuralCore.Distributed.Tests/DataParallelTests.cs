using NeuralCore.Nn;

namespace NeuralCore.Distributed.Tests;

public sealed class DataParallelTests
{
    [Fact]
    public async Task GradientsAreAveragedOverRanksAndUnusedParametersCountAsZero()
    {
        // Rank r's model starts from different weights; DDP makes them rank 0's. Rank 1 never uses b.
        var models = Enumerable.Range(0, 2).Select(_ => new Sequential(new Linear(3, 2), new Linear(3, 2))).ToArray();
        var comms = InProcessCommunicator.Create(2, TimeSpan.FromSeconds(20));
        var tasks = comms.Select((comm, r) => Task.Factory.StartNew(() =>
        {
            var model = models[r];
            var a = (Linear)model.NamedChildren().First().Module;
            var b = (Linear)model.NamedChildren().Last().Module;
            using var ddp = new DistributedDataParallel(model, comm, bucketCapMB: 1e-6); // one bucket per parameter
            var x = Tensor.Full([2, 3], r + 1);
            var output = a.Forward(x);
            if (r == 0) output = output + b.Forward(x);
            output.Sum().Backward();
            var averaged = model.Parameters().Select(p => p.Grad!.ToArray<float>()).ToArray();
            var weights = model.Parameters().Select(p => p.ToArray<float>()).ToArray();
            // Inside NoSync the gradient stays local.
            model.ZeroGrad();
            using (ddp.NoSync()) a.Forward(x).Sum().Backward();
            return (averaged, weights, local: a.Weight.Grad!.ToArray<float>(), ddp.BucketCount);
        }, TaskCreationOptions.LongRunning)).ToArray();
        (float[][] averaged, float[][] weights, float[] local, int BucketCount)[] results;
        try
        {
            results = await Task.WhenAll(tasks);
        }
        finally
        {
            foreach (var c in comms) c.Dispose();
        }
        var r0 = results[0];
        var r1 = results[1];
        Assert.Equal(4, r0.BucketCount);
        for (int i = 0; i < 4; i++) Assert.Equal(r0.weights[i], r1.weights[i]);
        for (int r = 0; r < 2; r++)
        {
            var g = results[r].averaged;
            // d/dW of sum(W x + c) over 2 rows of value r + 1 is 2(r + 1) per element: mean over ranks (2 + 4) / 2 = 3.
            Assert.All(g[0], v => Assert.Equal(3f, v));
            Assert.All(g[1], v => Assert.Equal(2f, v));
            // b: rank 0's gradient (2 per element) averaged with rank 1's zeros.
            Assert.All(g[2], v => Assert.Equal(1f, v));
            Assert.All(g[3], v => Assert.Equal(1f, v));
            Assert.All(results[r].local, v => Assert.Equal(2f * (r + 1), v));
        }
    }

    [Fact]
    public void OneRankChangesNothing()
    {
        using var comm = InProcessCommunicator.Create(1)[0];
        var model = new Sequential(new Linear(2, 1));
        var before = model.Parameters().Select(p => p.ToArray<float>()).ToArray();
        using var ddp = new DistributedDataParallel(model, comm);
        Assert.Equal(before, model.Parameters().Select(p => p.ToArray<float>()).ToArray());
        ddp.Forward(Tensor.Ones(3, 2)).Sum().Backward();
        Assert.All(model.Parameters().First().Grad!.ToArray<float>(), v => Assert.Equal(3f, v));
        Assert.Equal([0, 1, 2], ddp.EpochIndices(3, 0, shuffle: false));
        Assert.Equal([2.5], ddp.AverageAcrossRanks([2.5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedDataParallel(model, comm, bucketCapMB: 0));
    }

    [Fact]
    public void UseDataParallelRejectsAStrategyForAnotherModel()
    {
        using var comm = InProcessCommunicator.Create(1)[0];
        var model = new Sequential(new Linear(2, 1));
        using var ddp = new DistributedDataParallel(new Sequential(new Linear(2, 1)), comm);
        Assert.Contains("not this model", Assert.Throws<ArgumentException>(() => model.UseDataParallel(ddp)).Message);
    }
}
