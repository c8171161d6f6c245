using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Explain.Tests;

/// <summary>
/// A synthetic detection task, trained once per test class: 16×16 images of Gaussian noise (σ = 0.5); class 1 images
/// carry a 4×4 square of +1.5 at a random position, class 0 images do not. A small CNN with global average pooling
/// learns it in a few epochs; the square is the only discriminative region.
/// </summary>
public sealed class PlantedSquare
{
    public const int Size = 16, Square = 4;

    public PlantedSquare()
    {
        Model = Models.Seeded(new Sequential(
            new Conv2d(1, 8, 3, padding: 1), new ReLU(),
            new Conv2d(8, 8, 3, padding: 1), new ReLU(),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(8, 2)), seed: 81);
        var (x, y, _) = Make(512, new Generator(82));
        var optimizer = new Adam(Model.Parameters(), lr: 0.01);
        for (int epoch = 0; epoch < 8; epoch++)
            for (int start = 0; start < 512; start += 32)
            {
                using var scope = Tensor.Scope();
                optimizer.ZeroGrad();
                F.CrossEntropy(Model.Forward(x.Narrow(0, start, 32)), y.Narrow(0, start, 32)).Backward();
                optimizer.Step();
            }
        (TestImages, TestLabels, Positions) = Make(64, new Generator(83));
        using (Tensor.NoGrad())
            Accuracy = Model.Forward(TestImages).ArgMax(dim: 1).Eq(TestLabels).Sum().Item<long>() / 64.0;
    }

    /// <summary>The trained network; layer 3 is the ReLU after the second convolution (16 × 16 maps).</summary>
    public Sequential Model { get; }

    public Tensor TestImages { get; }

    public Tensor TestLabels { get; }

    /// <summary>Top-left corner of the square in each test image (null for class 0).</summary>
    public (int Row, int Col)?[] Positions { get; }

    public double Accuracy { get; }

    static (Tensor X, Tensor Y, (int, int)?[] Positions) Make(int count, Generator g)
    {
        var x = (Tensor.Randn([count, 1, Size, Size], DType.Float32, g) * 0.5f).ToArray<float>();
        var y = new long[count];
        var positions = new (int, int)?[count];
        for (int i = 0; i < count; i++)
        {
            if (i % 2 == 0) continue;
            y[i] = 1;
            int r = g.NextInt(Size - Square + 1), c = g.NextInt(Size - Square + 1);
            positions[i] = (r, c);
            for (int dr = 0; dr < Square; dr++)
                for (int dc = 0; dc < Square; dc++) x[(i * Size + r + dr) * Size + c + dc] += 1.5f;
        }
        return (Tensor.FromArray(x, count, 1, Size, Size), Tensor.FromArray(y, count), positions);
    }
}
