using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Federated;

/// <summary>A client's local update: <c>epochs</c> passes of minibatch SGD over its shard with cross-entropy loss,
/// plus FedProx's proximal term μ/2 ‖w − w_global‖² (its gradient μ(w − w_global) is added to each parameter's
/// gradient before the step).</summary>
public static class LocalTraining
{
    /// <summary>Trains <paramref name="model"/> in place, starting from its current weights (the global model).</summary>
    /// <param name="model">The model, holding the global weights.</param>
    /// <param name="data">The client's shard (inputs and class-id targets).</param>
    /// <param name="epochs">Local epochs E (≥ 1).</param>
    /// <param name="batchSize">Batch size B (0 = the whole shard).</param>
    /// <param name="learningRate">SGD learning rate (&gt; 0).</param>
    /// <param name="proxMu">FedProx μ (0 = plain FedAvg).</param>
    /// <param name="seed">Seed of the shuffling order.</param>
    /// <returns>The number of SGD steps taken.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="ArgumentException">The shard is empty.</exception>
    public static int Train(Module model, Dataset data, int epochs, int batchSize, double learningRate, double proxMu, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "LocalTraining.Train: the learning rate must be positive and finite.");
        if (!(proxMu >= 0) || !double.IsFinite(proxMu))
            throw new ArgumentOutOfRangeException(nameof(proxMu), proxMu, "LocalTraining.Train: μ must be non-negative and finite.");
        if (data.Count == 0) throw new ArgumentException("LocalTraining.Train: the shard is empty.", nameof(data));

        var parameters = model.Parameters().ToArray();
        Tensor[] anchor;
        using (Tensor.NoGrad()) anchor = proxMu > 0 ? [.. parameters.Select(p => p.Detach().Clone())] : [];
        model.Train();
        var optimizer = new Sgd(parameters, lr: learningRate);
        var loader = new DataLoader(data, batchSize == 0 ? data.Count : batchSize, shuffle: true, generator: new Generator(seed), workers: 0);
        int steps = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var (x, y) in loader)
            {
                using var scope = Tensor.Scope();
                optimizer.ZeroGrad();
                F.CrossEntropy(model.Forward(x), y).Backward();
                if (proxMu > 0)
                {
                    using var noGrad = Tensor.NoGrad();
                    for (int i = 0; i < parameters.Length; i++)
                        parameters[i].Grad?.Add_(parameters[i] - anchor[i], proxMu);
                }
                optimizer.Step();
                steps++;
            }
        }
        return steps;
    }
}
