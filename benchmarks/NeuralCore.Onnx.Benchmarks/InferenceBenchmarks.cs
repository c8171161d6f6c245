using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Nn;
using NeuralCore.Samples;

namespace NeuralCore.Onnx.Benchmarks;

/// <summary>
/// Inference of the sample models (Fashion-MNIST MLP and CNN, CIFAR-10 LeNet) in NeuralCore and in ONNX Runtime
/// (CPU execution provider, all graph optimisations) on the graph NeuralCore exports, at batch 1, 8 and 100. Both use
/// <see cref="Environment.ProcessorCount"/> threads: NeuralCore's default degree of parallelism and ORT's
/// intra-op pool set to the same. NeuralCore runs in evaluation mode without recording a graph, inside a
/// <see cref="Tensor.Scope"/> as a serving loop would; ORT runs with a pre-allocated input OrtValue.
/// </summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    Module model = null!;
    Tensor input = null!;
    InferenceSession session = null!;
    OrtValue ortInput = null!;
    RunOptions runOptions = null!;
    string[] inputNames = null!, outputNames = null!;

    [Params("mlp", "cnn", "lenet")]
    public string Model { get; set; } = "mlp";

    [Params(1, 8, 100)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        (model, long[] shape) = Model switch
        {
            "mlp" => ((Module)FashionMnistSample.Mlp(), new long[] { Batch, 1, 28, 28 }),
            "cnn" => (FashionMnistSample.Cnn(), new long[] { Batch, 1, 28, 28 }),
            _ => (new LeNet(), new long[] { Batch, 3, 32, 32 }),
        };
        input = Tensor.Rand(shape);
        var bytes = OnnxExporter.ToBytes(model, input);
        model.Eval();
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        session = new InferenceSession(bytes, options);
        ortInput = OrtValue.CreateTensorValueFromMemory(input.Contiguous().ToArray<float>(), shape);
        runOptions = new RunOptions();
        inputNames = ["input"];
        outputNames = ["output"];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        ortInput.Dispose();
        runOptions.Dispose();
        session.Dispose();
    }

    [Benchmark(Baseline = true)]
    public float OnnxRuntime()
    {
        using var results = session.Run(runOptions, inputNames, [ortInput], outputNames);
        return results[0].GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark]
    public float NeuralCore()
    {
        using var scope = Tensor.Scope();
        using (Tensor.NoGrad()) return model.Forward(input).ToArray<float>()[0];
    }
}
