using BenchmarkDotNet.Attributes;
using NeuralCore.Gpu;
using GpuApi = NeuralCore.Gpu.Gpu;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Samples;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The same workloads on every backend in one run: the CPU backend and, where a GPU is usable, the ILGPU backend
/// on it (CUDA first). Each GPU invocation ends with a device synchronisation, so the time is the work, not the
/// launch. The ILGPU CPU simulator is never benchmarked (it is a correctness tool).
/// </summary>
[MemoryDiagnoser]
public class BackendBenchmarks
{
    /// <summary>"cpu", plus "cuda:0" or "opencl:0" when the probe found a usable GPU.</summary>
    public static IEnumerable<string> Backends()
    {
        yield return "cpu";
        foreach (var d in GpuApi.Register()) yield return d.ToString();
    }

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "cpu";

    Device device = Device.Cpu;
    IlgpuBackend? gpu;

    protected Device Target => device;

    protected void Sync() => gpu?.Synchronize();

    protected void SetupDevice()
    {
        device = Backend == "cpu" ? Device.Cpu : GpuApi.Register().First(d => d.ToString() == Backend);
        gpu = device.IsCpu ? null : GpuApi.Backend(device);
        if (gpu is not null) GpuApi.Warmup(device);
    }
}

/// <summary>SGEMM float32, square N×N · N×N (2·N³ flops per call).</summary>
public class BackendGemmBenchmarks : BackendBenchmarks
{
    [Params(256, 512, 1024, 2048, 4096)]
    public int N { get; set; }

    Tensor a = null!, b = null!;

    [GlobalSetup]
    public void Setup()
    {
        SetupDevice();
        a = Tensor.Randn([N, N], DType.Float32, new Generator(1)).To(Target);
        b = Tensor.Randn([N, N], DType.Float32, new Generator(2)).To(Target);
    }

    [Benchmark]
    public void MatMul()
    {
        a.MatMul(b).Dispose();
        Sync();
    }
}

/// <summary>Elementwise add of two float32 tensors of 1M, 16M and 64M elements (12 bytes moved per element).</summary>
public class BackendElementwiseBenchmarks : BackendBenchmarks
{
    [Params(1 << 20, 1 << 24, 1 << 26)]
    public int Elements { get; set; }

    Tensor x = null!, y = null!;

    [GlobalSetup]
    public void Setup()
    {
        SetupDevice();
        x = Tensor.Randn([Elements], DType.Float32, new Generator(1)).To(Target);
        y = Tensor.Randn([Elements], DType.Float32, new Generator(2)).To(Target);
    }

    [Benchmark]
    public void Add()
    {
        x.Add(y).Dispose();
        Sync();
    }

    [Benchmark]
    public void Relu()
    {
        x.Relu().Dispose();
        Sync();
    }
}

/// <summary>Host→device and device→host copies of 64 MiB (16M floats); on the CPU backend, a copy between tensors.</summary>
public class BackendTransferBenchmarks : BackendBenchmarks
{
    const int Elements = 1 << 24;
    Tensor host = null!, onDevice = null!;

    [GlobalSetup]
    public void Setup()
    {
        SetupDevice();
        host = Tensor.Randn([Elements], DType.Float32, new Generator(1));
        onDevice = host.To(Target);
    }

    [Benchmark]
    public void HostToDevice()
    {
        host.To(Target).Dispose();
        Sync();
    }

    /// <summary>Includes allocating the 64 MiB managed array the data lands in.</summary>
    [Benchmark]
    public float[] DeviceToHost() => onDevice.ToArray<float>();
}

/// <summary>
/// Conv2d forward on the LeNet shapes (batch 100), a ResNet-like 3×3 layer (batch 16, 64→64 channels, 56×56) and a
/// ResNet bottleneck 1×1 reduction (batch 8, 256→64 channels, 56×56; 0.82 GFLOP per call).
/// </summary>
public class BackendConvBenchmarks : BackendBenchmarks
{
    Tensor lenetInput = null!, lenetWeight = null!, resInput = null!, resWeight = null!, bottleneckInput = null!, bottleneckWeight = null!;

    [GlobalSetup]
    public void Setup()
    {
        SetupDevice();
        lenetInput = Tensor.Randn([100, 3, 32, 32], DType.Float32, new Generator(1)).To(Target);
        lenetWeight = Tensor.Randn([6, 3, 5, 5], DType.Float32, new Generator(2)).To(Target);
        resInput = Tensor.Randn([16, 64, 56, 56], DType.Float32, new Generator(3)).To(Target);
        resWeight = Tensor.Randn([64, 64, 3, 3], DType.Float32, new Generator(4)).To(Target);
        bottleneckInput = Tensor.Randn([8, 256, 56, 56], DType.Float32, new Generator(5)).To(Target);
        bottleneckWeight = Tensor.Randn([64, 256, 1, 1], DType.Float32, new Generator(6)).To(Target);
    }

    [Benchmark]
    public void LeNetConv1()
    {
        using var noGrad = Tensor.NoGrad();
        F.Conv2d(lenetInput, lenetWeight).Dispose();
        Sync();
    }

    [Benchmark]
    public void ResNetConv3x3()
    {
        using var noGrad = Tensor.NoGrad();
        F.Conv2d(resInput, resWeight, padding: 1).Dispose();
        Sync();
    }

    [Benchmark]
    public void ResNetBottleneck1x1()
    {
        using var noGrad = Tensor.NoGrad();
        F.Conv2d(bottleneckInput, bottleneckWeight).Dispose();
        Sync();
    }
}

/// <summary>
/// Training steps as a user writes them (inside <see cref="Tensor.Scope"/>): LeNet at batch 100 with SGD momentum 0.9,
/// the MLP 784-256-128-10 at batch 64 with Adam, and one LeNet epoch over 50,000 CIFAR-shaped images (500 steps).
/// </summary>
public class BackendTrainingBenchmarks : BackendBenchmarks
{
    LeNet lenet = null!;
    Sgd sgd = null!;
    Tensor images = null!, labels = null!;
    Sequential mlp = null!;
    Adam adam = null!;
    Tensor mlpInput = null!, mlpLabels = null!;

    [GlobalSetup]
    public void Setup()
    {
        SetupDevice();
        Rng.ManualSeed(1);
        lenet = new LeNet();
        lenet.To(Target);
        sgd = new Sgd(lenet.Parameters(), lr: 0.001, momentum: 0.9);
        images = Tensor.Randn([100, 3, 32, 32], DType.Float32, new Generator(1)).To(Target);
        labels = Tensor.RandInt(0, 10, [100], new Generator(2)).To(Target);
        mlp = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, 10));
        mlp.To(Target);
        adam = new Adam(mlp.Parameters(), lr: 1e-3);
        mlpInput = Tensor.Randn([64, 784], DType.Float32, new Generator(3)).To(Target);
        mlpLabels = Tensor.RandInt(0, 10, [64], new Generator(4)).To(Target);
    }

    [Benchmark]
    public void LeNetStep_Batch100()
    {
        LeNetStep();
        Sync();
    }

    [Benchmark]
    public void MlpAdamStep_Batch64()
    {
        using var scope = Tensor.Scope();
        adam.ZeroGrad();
        F.CrossEntropy(mlp.Forward(mlpInput), mlpLabels).Backward();
        adam.Step();
        Sync();
    }

    /// <summary>500 LeNet steps at batch 100: one epoch of CIFAR-10's 50,000 training images (data already on the device).</summary>
    [Benchmark]
    public void LeNetEpoch_50000()
    {
        for (int i = 0; i < 500; i++) LeNetStep();
        Sync();
    }

    void LeNetStep()
    {
        using var scope = Tensor.Scope();
        sgd.ZeroGrad();
        F.CrossEntropy(lenet.Forward(images), labels).Backward();
        sgd.Step();
    }
}
