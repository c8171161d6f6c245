using NeuralCore.Nn;

namespace NeuralCore.Gpu.Check;

/// <summary>
/// Checks that only a real GPU can fail (the simulator runs the same kernels through .NET's arithmetic): saturated tanh,
/// a huge sine that must finish, a product with more row tiles than one launch's grid Y, max-pool backward twice
/// (bitwise differences reported), and random fills against the CPU. Each returns its failures; a check that throws or runs past its time
/// limit counts as failed.
/// </summary>
static class DeviceChecks
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public static IEnumerable<(string Name, Func<IEnumerable<string>> Run)> All(Device device, int gemmRows) =>
    [
        ("device: Tanh at 45, 100, 400 (Float32 and Float64)", () => Tanh(device)),
        ("device: Sin and Cos at 1e9, 1e17, 1e300", () => Timed(() => Sine(device))),
        ($"device: MatMul with {gemmRows} rows", () => Timed(() => TallProduct(device, gemmRows))),
        ("device: max-pool backward twice", () => MaxPoolTwice(device)),
        ("device: random fills against the CPU", () => RandomFills(device)),
    ];

    // Runs a check on a worker and gives up waiting after the limit (a device reduction loop that never ends would hang).
    static IEnumerable<string> Timed(Func<List<string>> check)
    {
        var task = Task.Run(check);
        if (!task.Wait(Limit)) return [$"did not finish within {Limit.TotalSeconds:0} s"];
        return task.Result;
    }

    static List<string> Tanh(Device device)
    {
        var failures = new List<string>();
        double[] xs = [45, 100, 400, -45, -100, -400, 355, 0.5, 1e-3];
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var actual = Tensor.FromArray(xs).To(dtype).To(device).Tanh().To(Device.Cpu).To(DType.Float64).ToArray<double>();
            double tol = dtype == DType.Float32 ? 2.4e-7 : 4.5e-16; // 2 ulp
            for (int i = 0; i < xs.Length; i++)
            {
                double x = dtype == DType.Float32 ? (float)xs[i] : xs[i];
                double expected = dtype == DType.Float32 ? (float)Math.Tanh(x) : Math.Tanh(x);
                if (!(Math.Abs(actual[i] - expected) <= tol * Math.Abs(expected)))
                    failures.Add($"{dtype} tanh({xs[i]}) = {actual[i]:R}, expected {expected:R}");
            }
        }
        return failures;
    }

    static List<string> Sine(Device device)
    {
        var failures = new List<string>();
        double[] xs = [1e9, 1e17, -1e17, 1e300, 5.6e16, 1e22];
        var x = Tensor.FromArray(xs);
        var sin = x.To(device).Sin().ToArray<double>();
        var cos = x.To(device).Cos().ToArray<double>();
        for (int i = 0; i < xs.Length; i++)
        {
            if (!(Math.Abs(sin[i] - Math.Sin(xs[i])) <= 1e-15)) failures.Add($"sin({xs[i]}) = {sin[i]:R}, expected {Math.Sin(xs[i]):R}");
            if (!(Math.Abs(cos[i] - Math.Cos(xs[i])) <= 1e-15)) failures.Add($"cos({xs[i]}) = {cos[i]:R}, expected {Math.Cos(xs[i]):R}");
        }
        var f = Tensor.FromArray([1e17f, 3e38f]).To(device).Sin().ToArray<float>();
        if (!(Math.Abs(f[0] - Math.Sin(1e17f)) <= 1e-6)) failures.Add($"Float32 sin(1e17) = {f[0]}, expected {Math.Sin(1e17f)}");
        if (!(Math.Abs(f[1] - Math.Sin(3e38f)) <= 1e-6)) failures.Add($"Float32 sin(3e38) = {f[1]}, expected {Math.Sin(3e38f)}");
        return failures;
    }

    // A skinny product: [rows, 8] · [8, 4], more row tiles than one launch's grid Y (65,535) holds once rows > 1M.
    static List<string> TallProduct(Device device, int rows)
    {
        var g = new Generator(21);
        var a = Tensor.Randn([rows, 8], DType.Float32, g);
        var b = Tensor.Randn([8, 4], DType.Float32, g);
        var expected = a.MatMul(b).ToArray<float>();
        var actual = a.To(device).MatMul(b.To(device)).ToArray<float>();
        var failures = new List<string>();
        for (int i = 0; i < expected.Length && failures.Count < 5; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i]))))
                failures.Add($"row {i / 4}, column {i % 4}: {actual[i]}, expected {expected[i]}");
        return failures;
    }

    // Overlapping windows (3×3, stride 1): input elements receive several gradients, added with float atomics on the
    // device, so the order of the additions (and the last bits) may change from run to run (docs/gpu.md). The check
    // reports how many elements differ bit for bit and fails when any differs by more than a few ulp.
    static List<string> MaxPoolTwice(Device device)
    {
        var x = Tensor.Randn([4, 8, 32, 32], DType.Float32, new Generator(22)).To(device);
        var dy = Tensor.Randn([4, 8, 30, 30], DType.Float32, new Generator(23)).To(device);
        float[] Gradient()
        {
            var leaf = x.Detach().RequiresGrad_();
            Functional.MaxPool2d(leaf, 3, 1).Backward(dy);
            return leaf.Grad!.ToArray<float>();
        }
        var first = Gradient();
        var second = Gradient();
        int differ = first.Zip(second).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
        int far = first.Zip(second).Count(p => !(Math.Abs(p.First - p.Second) <= 1e-6f * (1 + Math.Abs(p.First))));
        Console.WriteLine($"  max-pool backward twice: {differ} of {first.Length} gradient elements differ bit for bit");
        return far == 0 ? [] : [$"{far} of {first.Length} gradient elements differ between two runs beyond rounding"];
    }

    static List<string> RandomFills(Device device)
    {
        var failures = new List<string>();
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var cpu = Tensor.Rand([4097], dtype, new Generator(24)).To(DType.Float64).ToArray<double>();
            var gpu = Tensor.Rand([4097], dtype, new Generator(24), device).To(Device.Cpu).To(DType.Float64).ToArray<double>();
            int differ = cpu.Zip(gpu).Count(p => p.First != p.Second);
            if (differ > 0) failures.Add($"{dtype} uniform: {differ} of {cpu.Length} values differ from the CPU's");
            var cpuBounded = Tensor.Zeros([4097], dtype).Uniform_(-3.5, 7.25, new Generator(25)).To(DType.Float64).ToArray<double>();
            var gpuBounded = Tensor.Zeros([4097], dtype).To(device).Uniform_(-3.5, 7.25, new Generator(25)).To(Device.Cpu).To(DType.Float64).ToArray<double>();
            double ulp = dtype == DType.Float32 ? 1.2e-7 : 2.3e-16;
            int beyondUlp = cpuBounded.Zip(gpuBounded).Count(p => Math.Abs(p.First - p.Second) > ulp * Math.Max(1, Math.Abs(p.First)) * 8);
            if (beyondUlp > 0) failures.Add($"{dtype} uniform in [-3.5, 7.25): {beyondUlp} values differ from the CPU's by more than an ulp of the range");
            var cpuNormal = Tensor.Randn([4097], dtype, new Generator(26)).To(DType.Float64).ToArray<double>();
            var gpuNormal = Tensor.Randn([4097], dtype, new Generator(26), device).To(Device.Cpu).To(DType.Float64).ToArray<double>();
            double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
            int far = cpuNormal.Zip(gpuNormal).Count(p => Math.Abs(p.First - p.Second) > tol * (1 + Math.Abs(p.First)));
            if (far > 0) failures.Add($"{dtype} normal: {far} of {cpuNormal.Length} values differ from the CPU's beyond {tol}");
        }
        return failures;
    }
}
