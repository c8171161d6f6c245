using BenchmarkDotNet.Attributes;
using NeuralCore.Backends.Cpu;
using NeuralCore.Compression;
using NeuralCore.Nn;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The int8 GEMM against the float32 GEMM at M = N = K = 1024 (C = A·Wᵀ, the Linear layout; 2·N³ operations each).
/// <c>Int8Gemm</c> is the kernel on uint8 activations with the float epilogue (scale per column);
/// <c>Int8GemmFromFloat</c> adds quantizing a float input, i.e. what a quantized layer pays in place of the float GEMM.
/// Whole models: <see cref="Int8InferenceBenchmarks"/>.
/// </summary>
public unsafe class Int8QuantizationBenchmarks
{
    const int N = 1024;
    readonly float[] a = new float[N * N], w = new float[N * N], c = new float[N * N];
    byte[] aq = null!;
    PackedInt8Weights packed = null!;
    Int8Matmul matmul = null!;
    QuantParams input;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)(random.NextDouble() * 2 - 1);
            w[i] = (float)(random.NextDouble() * 2 - 1);
        }
        input = QuantParams.FromRange(-1, 1);
        aq = new byte[N * N];
        Int8Requantize.QuantizeRows(a, N, N, 1f / input.Scale, input.ZeroPoint, aq, N, scalar: false);
        var weights = new sbyte[N * N];
        for (int i = 0; i < weights.Length; i++) weights[i] = (sbyte)random.Next(-127, 128);
        packed = PackedInt8Weights.Pack(weights, N, N);
        matmul = new Int8Matmul(weights, Enumerable.Repeat(1e-3f, N).ToArray(), null, N, N, relu: false);
    }

    /// <summary>The core float32 GEMM, C = A·Wᵀ.</summary>
    [Benchmark(Baseline = true)]
    public void Float32Gemm()
    {
        fixed (float* pa = a, pw = w, pc = c)
            CpuGemm.Sgemm(false, true, N, N, N, 1f, pa, N, pw, N, 0f, pc, N);
    }

    /// <summary>The int8 GEMM on uint8 activations, writing float outputs.</summary>
    [Benchmark]
    public void Int8Gemm()
    {
        var scale = Enumerable.Repeat(1e-3f, N).ToArray();
        fixed (byte* pa = aq)
        fixed (float* pc = c)
            Compression.Int8Gemm.Run(pa, N, N, packed, input.ZeroPoint, new Int8Epilogue { Scale = scale }, Int8OutputKind.Float, pc, N, 1);
    }

    /// <summary>Quantizing the float input, then the int8 GEMM with the float epilogue.</summary>
    [Benchmark]
    public void Int8GemmFromFloat() => matmul.Forward(a, N, input, c);
}

/// <summary>
/// Forward passes of an MLP (784-512-256-10) and a CNN (two 3×3 convolutions with ReLU and 2×2 max pooling, then
/// 1568-128-10) at batch 1 and 100: float32 against int8 static quantization (every layer int8, calibrated) and int8
/// dynamic quantization (Linear layers int8 with per-batch activation ranges; the CNN's convolutions stay float32).
/// </summary>
public class Int8InferenceBenchmarks
{
    Sequential mlp = null!, cnn = null!, mlpStatic = null!, cnnStatic = null!;
    Module mlpDynamic = null!, cnnDynamic = null!;
    Tensor mlpInput = null!, cnnInput = null!;

    /// <summary>Images per forward pass.</summary>
    [Params(1, 100)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        mlp = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));
        cnn = new Sequential(new Conv2d(1, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Conv2d(16, 32, 3, padding: 1), new ReLU(),
            new MaxPool2d(2), new Flatten(), new Linear(32 * 7 * 7, 128), new ReLU(), new Linear(128, 10));
        mlp.Eval();
        cnn.Eval();
        var mlpCalibration = Tensor.Rand(100, 784);
        var cnnCalibration = Tensor.Rand(100, 1, 28, 28);
        mlpStatic = Quantization.QuantizeStatic(mlp, [mlpCalibration]);
        cnnStatic = Quantization.QuantizeStatic(cnn, [cnnCalibration]);
        mlpDynamic = Quantization.QuantizeDynamic(mlp);
        cnnDynamic = Quantization.QuantizeDynamic(cnn);
        mlpInput = mlpCalibration.Narrow(0, 0, Batch).Contiguous();
        cnnInput = cnnCalibration.Narrow(0, 0, Batch).Contiguous();
    }

    static Tensor Run(Module model, Tensor input)
    {
        using var noGrad = Tensor.NoGrad();
        return model.Forward(input);
    }

    /// <summary>The MLP in float32.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("mlp")]
    public Tensor MlpFloat32() => Run(mlp, mlpInput);

    /// <summary>The MLP quantized statically.</summary>
    [Benchmark]
    [BenchmarkCategory("mlp")]
    public Tensor MlpInt8Static() => Run(mlpStatic, mlpInput);

    /// <summary>The MLP quantized dynamically.</summary>
    [Benchmark]
    [BenchmarkCategory("mlp")]
    public Tensor MlpInt8Dynamic() => Run(mlpDynamic, mlpInput);

    /// <summary>The CNN in float32.</summary>
    [Benchmark]
    [BenchmarkCategory("cnn")]
    public Tensor CnnFloat32() => Run(cnn, cnnInput);

    /// <summary>The CNN quantized statically.</summary>
    [Benchmark]
    [BenchmarkCategory("cnn")]
    public Tensor CnnInt8Static() => Run(cnnStatic, cnnInput);

    /// <summary>The CNN quantized dynamically (its Linear layers).</summary>
    [Benchmark]
    [BenchmarkCategory("cnn")]
    public Tensor CnnInt8Dynamic() => Run(cnnDynamic, cnnInput);
}
