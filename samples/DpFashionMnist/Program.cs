// Differentially private training of a small tanh MLP on Fashion-MNIST with DP-SGD: Poisson-sampled batches,
// per-sample clipping, Gaussian noise and a Renyi-DP accountant, on top of the ordinary Compile/Fit.
//
//   dotnet run -c Release --project samples/DpFashionMnist -- [--epsilon 3] [--epochs 15] [--batch 1024]
//       [--lr 4] [--clip 1] [--hidden 64] [--seed 0] [--subset] [--grad-sample auto|ghost|materialized]
//
// --grad-sample picks how the clipped sum of per-sample gradients is formed (auto: ghost clipping here).
// --epsilon 0 trains the same model without privacy (plain SGD on shuffled batches) for comparison.
using System.Diagnostics;
using System.Globalization;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Privacy;
using NeuralCore.Samples;
using NeuralCore.Training;
using NeuralCore.Vision;

var c = CultureInfo.InvariantCulture;
double targetEpsilon = 3, lr = 4, clip = 1, delta = 1e-5;
int epochs = 15, batch = 1024, hidden = 64;
long seed = 0;
bool subset = false;
var gradSample = GradSampleMode.Auto;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--epsilon": targetEpsilon = double.Parse(Next(), c); break;
        case "--epochs": epochs = int.Parse(Next(), c); break;
        case "--batch": batch = int.Parse(Next(), c); break;
        case "--lr": lr = double.Parse(Next(), c); break;
        case "--clip": clip = double.Parse(Next(), c); break;
        case "--hidden": hidden = int.Parse(Next(), c); break;
        case "--seed": seed = long.Parse(Next(), c); break;
        case "--subset": subset = true; break;
        case "--grad-sample": gradSample = Enum.Parse<GradSampleMode>(Next(), ignoreCase: true); break;
        default: throw new ArgumentException($"Unknown option {args[i]}.");
    }
}

Rng.Default.ManualSeed(seed);
var (trainImages, testImages, source) = FashionMnistSample.LoadData(FashionMnist.DebianDirectory, subset, download: false, Console.WriteLine);
Console.WriteLine($"Data: {source}");
var train = new TensorDataset(trainImages.Images.Reshape(trainImages.Count, 784), trainImages.Labels);
var test = new TensorDataset(testImages.Images.Reshape(testImages.Count, 784), testImages.Labels);

var model = new Sequential(new Linear(784, hidden), new Tanh(), new Linear(hidden, 10));
var optimizer = new Sgd(model.Parameters(), lr: lr);
model.Compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"]);
var clock = Stopwatch.StartNew();
History history;
if (targetEpsilon > 0)
{
    var engine = new PrivacyEngine();
    var (loader, dp) = engine.MakePrivateWithEpsilon(model, optimizer, new DataLoader(train, batch), targetEpsilon, delta, epochs, clip,
        generator: new Generator(seed), gradSampleMode: gradSample);
    Console.WriteLine(string.Create(c, $"{dp}: noise multiplier {dp.NoiseMultiplier:F4} for epsilon {targetEpsilon} at delta {delta} over {epochs} epochs, {dp.GradSampleMode} clipping"));
    if (dp.PerSample.FallbackLayers.Count > 0) Console.WriteLine($"Per-sample fallback used by: {string.Join(", ", dp.PerSample.FallbackLayers)}");
    history = model.Fit(loader, epochs, validationData: test, verbose: 2, callbacks: [dp.EpsilonCallback(delta)]);
    Console.WriteLine(string.Create(c, $"Final: test accuracy {history["val_accuracy"][^1]:P2} at epsilon {dp.GetEpsilon(delta):F3} (delta {delta}), {clock.Elapsed.TotalSeconds:F0} s"));
}
else
{
    history = model.Fit(train, epochs, batchSize: batch, validationData: test, verbose: 2);
    Console.WriteLine(string.Create(c, $"Final: test accuracy {history["val_accuracy"][^1]:P2} without privacy, {clock.Elapsed.TotalSeconds:F0} s"));
}
