using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Benchmarks;

/// <summary>
/// LeNet as in PyTorch's CIFAR-10 tutorial (conv 3→6→16 at 5×5, 2×2 max-pooling, fc 400-120-84-10), defined
/// here so the benchmarks do not depend on the samples.
/// </summary>
public sealed class BenchLeNet : Module
{
    readonly Conv2d conv1 = new(3, 6, 5), conv2 = new(6, 16, 5);
    readonly MaxPool2d pool = new(2, 2);
    readonly Linear fc1 = new(16 * 5 * 5, 120), fc2 = new(120, 84), fc3 = new(84, 10);

    public BenchLeNet() => RegisterModules(("conv1", conv1), ("conv2", conv2), ("pool", pool),
                                           ("fc1", fc1), ("fc2", fc2), ("fc3", fc3));

    public override Tensor Forward(Tensor x)
    {
        x = pool.Forward(F.Relu(conv1.Forward(x)));
        x = pool.Forward(F.Relu(conv2.Forward(x)));
        x = x.Flatten(1);
        x = F.Relu(fc1.Forward(x));
        x = F.Relu(fc2.Forward(x));
        return fc3.Forward(x);
    }
}
