namespace NeuralCore.Nn;

/// <summary>Gradient clipping and weight clipping, as PyTorch's <c>torch.nn.utils</c>.</summary>
public static class Utils
{
    /// <summary>
    /// Rescales the gradients of <paramref name="parameters"/> so that their joint norm is at most
    /// <paramref name="maxNorm"/>, as PyTorch's <c>clip_grad_norm_</c>: the total norm is the
    /// <paramref name="normType"/>-norm of all gradient elements together (max |g| for +∞), and when
    /// <c>maxNorm / (total + 1e-6)</c> is below 1 every gradient is multiplied by it in place. Parameters without a
    /// gradient are skipped.
    /// </summary>
    /// <remarks>
    /// A non-finite total norm (a NaN or ∞ gradient) follows PyTorch's default <c>error_if_nonfinite=False</c>: the
    /// norm is returned and the gradients are scaled by the resulting factor (NaN, or 0 for ∞); pass
    /// <paramref name="errorIfNonfinite"/> to get an exception instead.
    /// </remarks>
    /// <param name="parameters">The parameters whose gradients to clip.</param>
    /// <param name="maxNorm">The largest allowed total norm.</param>
    /// <param name="normType">The p of the p-norm (&gt; 0), or <see cref="double.PositiveInfinity"/>.</param>
    /// <param name="errorIfNonfinite">Throw when the total norm is NaN or infinite.</param>
    /// <returns>The total norm before clipping (0 when no parameter has a gradient).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or <paramref name="normType"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="errorIfNonfinite"/> is set and the total norm is not finite.</exception>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be non-negative.");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "normType must be positive (or +infinity).");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        double total;
        using (Tensor.NoGrad())
        {
            // The norm is accumulated on the gradients' device and read once: a read per gradient would make the
            // host wait for the device once per parameter.
            total = TotalNorm(grads, normType).Item<double>();
            if (!double.IsPositiveInfinity(normType)) total = Math.Pow(total, 1 / normType);
            if (errorIfNonfinite && !double.IsFinite(total))
                throw new ArgumentException($"ClipGradNorm: the total {normType}-norm of the gradients is {total}; the gradients cannot be clipped.", nameof(parameters));
            double coef = maxNorm / (total + 1e-6);
            if (coef < 1 || double.IsNaN(coef))
                foreach (var g in grads) g.Mul_(coef);
        }
        return total;
    }

    // Σ|g|^p over every gradient (p finite), or max |g| (p = ∞, NaN-propagating), as a 0-d Float64 tensor on the
    // first gradient's device. Each gradient's partial is reduced in its own dtype and added in Float64 in order.
    static Tensor TotalNorm(List<Tensor> grads, double normType)
    {
        Tensor? total = null;
        foreach (var g in grads)
        {
            Tensor part;
            if (double.IsPositiveInfinity(normType))
                part = g.NumElements == 0 ? Tensor.Scalar(0, DType.Float64, g.Device) : g.Abs().Max().To(DType.Float64);
            else
                part = (normType switch
                {
                    1 => g.Abs().Sum(),
                    2 => g.Square().Sum(),
                    _ => g.Abs().Pow(normType).Sum(),
                }).To(DType.Float64);
            if (total is not null && !part.Device.Equals(total.Device)) part = part.To(total.Device);
            total = total is null ? part : double.IsPositiveInfinity(normType) ? total.Maximum(part) : total + part;
        }
        return total!;
    }

    /// <summary>Clamps every gradient element of <paramref name="parameters"/> to [−clipValue, clipValue] in place (<c>clip_grad_value_</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is negative or NaN.</exception>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clipValue must be non-negative.");
        using (Tensor.NoGrad())
            foreach (var p in parameters)
                p.Grad?.Clamp_(-clipValue, clipValue);
    }

    /// <summary>
    /// Weight clipping: clamps every element of <paramref name="parameters"/> to [<paramref name="min"/>,
    /// <paramref name="max"/>] in place, without recording autograd (typically right after <c>optimizer.Step()</c>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="min"/> is greater than <paramref name="max"/>, or either is NaN.</exception>
    public static void ClampWeights(IEnumerable<Tensor> parameters, double min, double max)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(min <= max)) throw new ArgumentException($"ClampWeights: min ({min}) must not exceed max ({max}).", nameof(min));
        using (Tensor.NoGrad())
            foreach (var p in parameters) p.Clamp_(min, max);
    }
}
