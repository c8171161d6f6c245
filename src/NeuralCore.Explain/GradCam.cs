using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017): the activations A of a convolutional layer weighted by the spatial mean of
/// the target's gradient with respect to them, ReLU(Σ_c mean_ij(∂y/∂A_cij) · A_c), optionally upsampled
/// (bilinear) to the input's height and width. The layer is reached through a forward hook
/// (<see cref="Module.RegisterForwardHook"/>), so it must run through <see cref="Module.Call"/>: every layer of a
/// <see cref="Sequential"/> does.
/// </summary>
public static class GradCam
{
    /// <summary>Computes Grad-CAM maps for every row of <paramref name="inputs"/>.</summary>
    /// <param name="model">The model; <paramref name="layer"/> is one of its descendants.</param>
    /// <param name="layer">The layer whose output [N, C, h, w] is explained (usually the last convolution or the ReLU after it).</param>
    /// <param name="inputs">A floating-point batch [N, ...] on the model's device.</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="relu">Keep only positive evidence (the ReLU of the paper); false returns the signed map.</param>
    /// <param name="upsample">Resize the map to the inputs' last two dimensions (bilinear, half-pixel centres).</param>
    /// <param name="maxBatchElements">Most input elements per internal forward/backward batch.</param>
    /// <returns>Maps [N, H, W] (input size when upsampled, else the layer's h × w).</returns>
    /// <exception cref="ArgumentException">The layer's output is not 4-d, or upsampling needs inputs of at least 2 dimensions after the batch.</exception>
    /// <exception cref="InvalidOperationException">The layer did not run through <see cref="Module.Call"/> during the model's forward pass.</exception>
    public static Tensor Attribute(Module model, Module layer, Tensor inputs, int target = 0, bool relu = true, bool upsample = true,
        long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(GradCam);
        ModelRunner.CheckBatch(op, inputs, maxBatchElements);
        ArgumentNullException.ThrowIfNull(layer);
        if (upsample && inputs.Dim < 3)
            throw new ArgumentException($"{op}: upsampling needs inputs with spatial dimensions [N, ..., H, W], got {inputs.Shape}.");
        using var _ = ModelRunner.Prepare(model);
        long n = inputs.Shape[0];
        int chunk = ModelRunner.RowsPerChunk(ModelRunner.RowElements(inputs), maxBatchElements);
        var maps = new List<Tensor>();
        for (long start = 0; start < n; start += chunk)
        {
            long len = Math.Min(chunk, n - start);
            using var scope = Tensor.Scope();
            Tensor? activations = null;
            using (layer.RegisterForwardHook((_, _, output) =>
            {
                if (output.Dim != 4)
                    throw new ArgumentException($"{op}: the layer's output must be [N, C, h, w], got {output.Shape}.");
                activations = output.Detach().RequiresGrad_();
                return activations;
            }))
            {
                var y = ModelRunner.TargetOutput(op, model, inputs.Narrow(0, start, len), target);
                if (activations is null)
                    throw new InvalidOperationException($"{op}: the layer {layer.GetType().Name} did not run through Module.Call during the forward pass; layers of a Sequential do, a custom module must call its children with Call.");
                if (!y.RequiresGrad)
                    throw new InvalidOperationException($"{op}: the model's output does not depend differentiably on the layer's output.");
                y.Sum().Backward();
            }
            using var noGrad = Tensor.NoGrad();
            var a = activations.Detach();
            var weights = activations.Grad!.Mean([2, 3], keepDim: true);
            var cam = (weights * a).Sum(1);
            if (relu) cam = cam.Relu();
            if (upsample) cam = Resize(cam, inputs.Shape[^2], inputs.Shape[^1]);
            maps.Add(scope.Keep(cam.Contiguous()));
        }
        using (Tensor.NoGrad()) return maps.Count == 1 ? maps[0] : Tensor.Cat(maps, 0);
    }

    /// <summary>Bilinear resize of maps [N, h, w] to [N, height, width] as two matrix products (half-pixel centres, edges clamped).</summary>
    internal static Tensor Resize(Tensor maps, long height, long width)
    {
        long n = maps.Shape[0], h = maps.Shape[1], w = maps.Shape[2];
        var rows = Interpolation(height, h).To(maps.Device).To(maps.DType);      // [height, h]
        var cols = Interpolation(width, w).To(maps.Device).To(maps.DType);       // [width, w]
        var r = rows.Unsqueeze(0).Expand(n, height, h).MatMul(maps);             // [N, height, w]
        return r.MatMul(cols.Transpose(0, 1).Unsqueeze(0).Expand(n, w, width));  // [N, height, width]
    }

    static Tensor Interpolation(long size, long source)
    {
        var m = new float[size * source];
        for (long i = 0; i < size; i++)
        {
            double x = Math.Clamp((i + 0.5) * source / size - 0.5, 0, source - 1);
            long lo = (long)Math.Floor(x), hi = Math.Min(lo + 1, source - 1);
            double f = x - lo;
            m[i * source + lo] += (float)(1 - f);
            m[i * source + hi] += (float)f;
        }
        return Tensor.FromArray(m, size, source);
    }
}
