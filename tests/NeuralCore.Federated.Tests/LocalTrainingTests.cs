using NeuralCore.Federated;

namespace NeuralCore.Federated.Tests;

[Collection(GlobalRngCollection.Name)]
public class LocalTrainingTests
{
    static (float[] Start, float[] After) Train(double mu, int epochs, int batchSize = 8)
    {
        Rng.ManualSeed(3);
        var model = FederatedRun.NewModel();
        var start = ModelVector.Flatten(model);
        LocalTraining.Train(model, FederatedRun.Data(24, 8), epochs, batchSize, learningRate: 0.5, proxMu: mu, seed: 1);
        return (start, ModelVector.Flatten(model));
    }

    static double Distance(float[] a, float[] b) => Math.Sqrt(a.Zip(b).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second)));

    [Fact]
    public void ProximalTerm_KeepsTheLocalModelCloserToTheGlobalOne()
    {
        var fedAvg = Train(0, 5);
        var prox = Train(1.0, 5);
        Assert.Equal(fedAvg.Start, prox.Start);
        Assert.True(Distance(prox.After, prox.Start) < 0.9 * Distance(fedAvg.After, fedAvg.Start),
            $"μ=1: {Distance(prox.After, prox.Start):0.0000}, μ=0: {Distance(fedAvg.After, fedAvg.Start):0.0000}");
        // At the first step w = w_global, so the proximal gradient is zero: one step is identical.
        var one = Train(0, 1, batchSize: 24);
        Assert.NotEqual(one.Start, one.After);
        Assert.Equal(one.After, Train(1.0, 1, batchSize: 24).After);
    }

    [Fact]
    public void ModelVector_RoundTrips()
    {
        Rng.ManualSeed(4);
        var model = FederatedRun.NewModel();
        var v = ModelVector.Flatten(model);
        Assert.Equal(FederatedRun.Features * 5 + 5 + 5 * FederatedRun.Classes + FederatedRun.Classes, v.Length);
        var doubled = v.Select(x => 2 * x).ToArray();
        ModelVector.Load(model, doubled);
        Assert.Equal(doubled, ModelVector.Flatten(model));
        Assert.Throws<ArgumentException>(() => ModelVector.Load(model, new float[3]));
    }
}
