using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using NeuralCore.Nn;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>
/// Recurrent layers in both libraries: a 2-layer LSTM and a 2-layer GRU (input 64, hidden 128) over 32 steps of a
/// batch of 32, forward and backward of the summed output (parameter and input gradients). Setup copies the NeuralCore
/// weights into the TorchSharp layers by their PyTorch names and checks that both give the same output, so the
/// comparison also proves that the weight layout (gate order, GRU's n-gate formula) interchanges with PyTorch.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class RecurrentComparison
{
    const string LstmStep = "LSTM 2x128 forward+backward, T 32, batch 32", GruStep = "GRU 2x128 forward+backward, T 32, batch 32";
    const int Steps = 32, Batch = 32, Input = 64, Hidden = 128, Layers = 2;

    static RecurrentComparison() => ComparisonSetup.FixNativeLibrary();

    TorchSharp.Modules.LSTM tLstm = null!;
    TorchSharp.Modules.GRU tGru = null!;
    TorchTensor tInput = null!;
    LSTM nLstm = null!;
    GRU nGru = null!;
    Tensor nInput = null!;

    [GlobalSetup]
    public void Setup()
    {
        ComparisonSetup.Initialize();
        nLstm = new LSTM(Input, Hidden, Layers);
        nGru = new GRU(Input, Hidden, Layers);
        nInput = Tensor.Randn(Steps, Batch, Input).RequiresGrad_();
        tLstm = torch.nn.LSTM(Input, Hidden, Layers);
        tGru = torch.nn.GRU(Input, Hidden, Layers);
        CopyWeights(nLstm, tLstm);
        CopyWeights(nGru, tGru);
        tInput = torch.tensor(nInput.ToArray<float>(), [Steps, Batch, Input]).requires_grad_();
        using (torch.no_grad())
        {
            CheckSame("LSTM", nLstm.Forward(nInput), tLstm.forward(tInput, null).Item1);
            CheckSame("GRU", nGru.Forward(nInput), tGru.forward(tInput, null).Item1);
        }
    }

    static void CopyWeights(Module source, torch.nn.Module target)
    {
        var state = source.StateDict();
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in target.named_parameters())
            p.copy_(torch.tensor(state[name].ToArray<float>(), p.shape));
    }

    static void CheckSame(string what, Tensor ours, TorchTensor theirs)
    {
        var a = ours.ToArray<float>();
        var b = theirs.data<float>().ToArray();
        double worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        if (a.Length != b.Length || worst > 1e-4)
            throw new InvalidOperationException($"{what}: NeuralCore and TorchSharp outputs differ by {worst} with the same weights.");
        Console.WriteLine($"[RecurrentComparison] {what}: same weights, outputs agree within {worst:E1}.");
    }

    [Benchmark(Baseline = true), BenchmarkCategory(LstmStep)]
    public void TorchSharp_Lstm()
    {
        using var scope = torch.NewDisposeScope();
        tLstm.zero_grad();
        tInput.grad?.zero_();
        tLstm.forward(tInput, null).Item1.sum().backward();
    }

    [Benchmark, BenchmarkCategory(LstmStep)]
    public void NeuralCore_Lstm()
    {
        using var scope = Tensor.Scope();
        nLstm.ZeroGrad();
        nInput.Grad = null;
        nLstm.Forward(nInput).Sum().Backward();
    }

    [Benchmark(Baseline = true), BenchmarkCategory(GruStep)]
    public void TorchSharp_Gru()
    {
        using var scope = torch.NewDisposeScope();
        tGru.zero_grad();
        tInput.grad?.zero_();
        tGru.forward(tInput, null).Item1.sum().backward();
    }

    [Benchmark, BenchmarkCategory(GruStep)]
    public void NeuralCore_Gru()
    {
        using var scope = Tensor.Scope();
        nGru.ZeroGrad();
        nInput.Grad = null;
        nGru.Forward(nInput).Sum().Backward();
    }
}
