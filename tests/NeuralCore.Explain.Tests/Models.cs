using NeuralCore.Nn;

namespace NeuralCore.Explain.Tests;

/// <summary>Small models with weights drawn from a seeded generator, so every test sees the same functions.</summary>
internal static class Models
{
    public static Tensor Randn(Generator g, params long[] shape) => Tensor.Randn(shape, DType.Float32, g);

    /// <summary>f(x) = W x + c with W [outputs, features] drawn from N(0, 1).</summary>
    public static Linear Linear(int features, int outputs, long seed)
    {
        var g = new Generator(seed);
        var fc = new Linear(features, outputs);
        using (Tensor.NoGrad())
        {
            fc.Weight.Copy_(Randn(g, outputs, features));
            fc.Bias!.Copy_(Randn(g, outputs));
        }
        return fc;
    }

    /// <summary>A nonlinear MLP: Linear → Tanh → Linear → Softplus → Linear (3 outputs).</summary>
    public static Sequential Mlp(int features, long seed) =>
        Seeded(new Sequential(new Linear(features, 16), new Tanh(), new Linear(16, 8), new Softplus(), new Linear(8, 3)), seed);

    /// <summary>A CNN on [N, 1, 8, 8]: Conv 3×3 → ReLU → Conv 3×3 → Tanh → MaxPool 2 → Flatten → Linear (3 outputs).</summary>
    public static Sequential Cnn(long seed) =>
        Seeded(new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new Conv2d(4, 6, 3, padding: 1), new Tanh(),
            new MaxPool2d(2), new Flatten(), new Linear(6 * 4 * 4, 3)), seed);

    /// <summary>Redraws every parameter from N(0, 1/fan-in) with a generator of its own.</summary>
    public static T Seeded<T>(T model, long seed) where T : Module
    {
        var g = new Generator(seed);
        using (Tensor.NoGrad())
            foreach (var p in model.Parameters())
            {
                long fanIn = p.Dim > 1 ? p.NumElements / p.Shape[0] : 1;
                p.Copy_(Randn(g, p.Shape.ToArray()) * (float)(1 / Math.Sqrt(fanIn)));
            }
        return model;
    }

    public static double[] Values(Tensor t) => t.ToArray<double>();
}
