using Xunit.Abstractions;

namespace NeuralCore.Explain.Tests;

/// <summary>
/// The methods on the GPU backend's code path (ILGPU's CPU simulator stands in for a GPU): same results as on the
/// CPU, with inputs and results staying on the device.
/// </summary>
public class BackendTests(ITestOutputHelper output)
{
    [Fact]
    public void MethodsAgreeBetweenCpuAndTheGpuBackend()
    {
        var device = Gpu.Gpu.UseCpuSimulator();
        var cpuModel = Models.Cnn(seed: 91);
        var gpuModel = Models.Cnn(seed: 91);
        gpuModel.To(device);
        var x = Models.Randn(new Generator(92), 2, 1, 8, 8);
        var gx = x.To(device);
        var background = Models.Randn(new Generator(93), 1, 1, 8, 8);   // the simulator is slow: small workloads
        var groups = FeatureGroups.Grid(1, 8, 8, 4);

        var pairs = new (string, Tensor Cpu, Tensor Gpu)[]
        {
            ("saliency", Saliency.Attribute(cpuModel, x, 1), Saliency.Attribute(gpuModel, gx, 1)),
            ("integrated gradients", IntegratedGradients.Attribute(cpuModel, x, 1, steps: 4).Attributions,
                IntegratedGradients.Attribute(gpuModel, gx, 1, steps: 4, maxBatchElements: 3 * 64).Attributions),
            ("occlusion", Occlusion.Attribute(cpuModel, x, [1, 4, 4], target: 1), Occlusion.Attribute(gpuModel, gx, [1, 4, 4], target: 1)),
            ("Grad-CAM", GradCam.Attribute(cpuModel, cpuModel[1], x, 1), GradCam.Attribute(gpuModel, gpuModel[1], gx, 1)),
            ("SmoothGrad", SmoothGrad.Saliency(cpuModel, x, 1, samples: 1, noiseFraction: 0), SmoothGrad.Saliency(gpuModel, gx, 1, samples: 1, noiseFraction: 0)),
        };
        foreach (var (name, cpu, gpu) in pairs)
        {
            Assert.Equal(device, gpu.Device);
            var a = cpu.ToArray<float>();
            var b = gpu.To(Device.Cpu).ToArray<float>();
            double worst = a.Zip(b, (p, q) => Math.Abs(p - q) / Math.Max(1, Math.Abs(p))).Max();
            output.WriteLine($"{name}: max difference {worst:E1}");
            Assert.True(worst < 1e-4, $"{name}: {worst}");
        }
        var shapCpu = KernelShap.Explain(cpuModel, x[..1], background, 1, groups)[0];
        var shapGpu = KernelShap.Explain(gpuModel, gx[..1], background.To(device), 1, groups)[0];
        for (int j = 0; j < 4; j++) Assert.Equal(shapCpu.Values[j], shapGpu.Values[j], 4);
    }
}
