using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using TF = TorchSharp.torch.nn.functional;

namespace NeuralCore.Benchmarks.Comparison;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// The sample's LeNet (samples/Cifar10LeNet/LeNet.cs) built from TorchSharp modules, layer for layer: conv 3→6 (5×5),
/// ReLU, 2×2 max-pooling, conv 6→16 (5×5), ReLU, 2×2 max-pooling, flatten, fc 400→120, ReLU, fc 120→84, ReLU, fc 84→10.
/// </summary>
internal sealed class TorchLeNet : Module<Tensor, Tensor>
{
    readonly Conv2d conv1 = Conv2d(3, 6, 5), conv2 = Conv2d(6, 16, 5);
    readonly MaxPool2d pool = MaxPool2d(2, 2);
    readonly Linear fc1 = Linear(16 * 5 * 5, 120), fc2 = Linear(120, 84), fc3 = Linear(84, 10);

    public TorchLeNet() : base(nameof(TorchLeNet)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        x = pool.forward(TF.relu(conv1.forward(x)));
        x = pool.forward(TF.relu(conv2.forward(x)));
        x = x.flatten(1);
        x = TF.relu(fc1.forward(x));
        x = TF.relu(fc2.forward(x));
        return fc3.forward(x);
    }
}

/// <summary>
/// SGD with momentum (no dampening, no Nesterov, no weight decay), the update torch.optim.SGD performs:
/// <c>buf = momentum·buf + grad; param -= lr·buf</c>. Written out because TorchSharp's built-in optimizers pass
/// temporary <see cref="Scalar"/>s to native code without keeping them alive, and a collection in the middle of a
/// long benchmark run can free one while libtorch still reads it (an abort seen on this machine). Here every
/// Scalar is held for the optimizer's lifetime. The buffers start at zero, which gives PyTorch's first step
/// (<c>buf = grad</c>) exactly.
/// </summary>
internal sealed class TorchSgdMomentum
{
    readonly Parameter[] parameters;
    readonly Tensor[] buffers;
    readonly Scalar momentum, negativeLr;

    public TorchSgdMomentum(IEnumerable<Parameter> parameters, double lr, double momentum)
    {
        this.parameters = [.. parameters];
        buffers = [.. this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
        this.momentum = momentum.ToScalar();
        negativeLr = (-lr).ToScalar();
    }

    public void Step()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < parameters.Length; i++)
        {
            using var grad = parameters[i].grad;
            if (grad is null) continue;
            buffers[i].mul_(momentum).add_(grad);
            parameters[i].add_(buffers[i], alpha: negativeLr);
        }
    }
}

/// <summary>
/// Adam (no weight decay, no AMSGrad), the single-tensor update of torch.optim.Adam written out with Scalars that
/// stay alive for the duration of each native call (see <see cref="TorchSgdMomentum"/> for why).
/// </summary>
internal sealed class TorchAdam
{
    readonly Parameter[] parameters;
    readonly Tensor[] expAvg, expAvgSq;
    readonly double lr, beta1, beta2;
    readonly Scalar beta1S, beta2S, oneMinusBeta1, oneMinusBeta2, eps;
    long step;

    public TorchAdam(IEnumerable<Parameter> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        this.parameters = [.. parameters];
        expAvg = [.. this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
        expAvgSq = [.. this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
        (this.lr, this.beta1, this.beta2) = (lr, beta1, beta2);
        (beta1S, beta2S) = (beta1.ToScalar(), beta2.ToScalar());
        (oneMinusBeta1, oneMinusBeta2) = ((1 - beta1).ToScalar(), (1 - beta2).ToScalar());
        this.eps = eps.ToScalar();
    }

    public void Step()
    {
        step++;
        double biasCorrection1 = 1 - Math.Pow(beta1, step), biasCorrection2 = 1 - Math.Pow(beta2, step);
        using var sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
        using var negativeStepSize = (-lr / biasCorrection1).ToScalar();
        using var noGrad = no_grad();
        for (int i = 0; i < parameters.Length; i++)
        {
            using var grad = parameters[i].grad;
            if (grad is null) continue;
            expAvg[i].mul_(beta1S).add_(grad, alpha: oneMinusBeta1);
            expAvgSq[i].mul_(beta2S).addcmul_(grad, grad, value: oneMinusBeta2);
            using var denom = expAvgSq[i].sqrt();
            denom.div_(sqrtBiasCorrection2).add_(eps);
            parameters[i].addcdiv_(expAvg[i], denom, value: negativeStepSize);
        }
    }
}
